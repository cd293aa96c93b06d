"""The outbox: what each change in the table's stream announces, as the contract's events.

Events leave through the stream, so an event exists exactly when its change was committed; no
second write can be lost. An event's id comes from the change itself (the stream record's id,
or for a used-up window the window), so a redelivered batch yields the same ids and receivers
can drop duplicates.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent_sessions.domain.records import PaymentRecord, SessionRecord, format_timestamp
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME
from agent_sessions.wire.views import payment_body, session_body

Record = SessionRecord | PaymentRecord


@dataclass(frozen=True)
class Change:
    """One stream record: which item changed, how, and when."""

    change_id: str  # the stream record's eventID: stable across redeliveries
    old: Record | None
    new: Record | None
    at: datetime


@dataclass(frozen=True)
class OutboundEvent:
    """One of the contract's events, ready to publish."""

    id: str
    name: str
    account_id: str
    timestamp: datetime
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The webhook body: {"id", "event", "timestamp", "merchant_id", "data"}."""
        return {
            "id": self.id,
            "event": self.name,
            "timestamp": format_timestamp(self.timestamp),
            "merchant_id": self.account_id,
            "data": self.data,
        }


def event_id(*parts: str) -> str:
    """`evt_` and 24 base32 characters derived from `parts`."""
    digest = hashlib.sha256("\n".join(parts).encode()).digest()
    return "evt_" + base64.b32encode(digest[:15]).decode().lower()


SessionLookup = Callable[[str], SessionRecord | None]


def events_for(change: Change, session_of: SessionLookup) -> list[OutboundEvent]:
    """The events one change announces (often none)."""
    if isinstance(change.new, SessionRecord) or isinstance(change.old, SessionRecord):
        return _session_events(change)
    if isinstance(change.new, PaymentRecord):
        return _payment_events(change, session_of)
    return []


def _session_events(change: Change) -> list[OutboundEvent]:
    old, new = change.old, change.new
    if not isinstance(new, SessionRecord):
        return []
    assert old is None or isinstance(old, SessionRecord)

    def event(name: str, *id_parts: str, extra: dict[str, Any] | None = None) -> OutboundEvent:
        assert isinstance(new, SessionRecord)
        data = {**session_body(new, change.at), **(extra or {})}
        return OutboundEvent(
            id=event_id(*(id_parts or (change.change_id, name))),
            name=name,
            account_id=new.account_id,
            timestamp=change.at,
            data=data,
        )

    if old is None:
        return [event("agent.session.created")]
    events = []
    if old.stored_status == "active" and new.stored_status in ("revoked", "expired"):
        events.append(event(f"agent.session.{new.stored_status}"))
    for kind in WINDOW_KINDS:
        before, after = old.window(kind, change.at), new.window(kind, change.at)
        if before.remaining_cents > 0 and after.remaining_cents == 0:
            key = f"{kind}:{after.resets_at.isoformat()}"
            events.append(
                event(
                    "agent.session.limit_reached",
                    new.id,
                    key,
                    extra={
                        "limit_reached": {
                            "window": kind,
                            "limit": WINDOW_LIMIT_NAME[kind],
                            "resets_at": format_timestamp(after.resets_at),
                        }
                    },
                )
            )
    return events


_PAYMENT_CHANGES = {
    (None, "authorized"): "agent.payment.authorized",
    (None, "pending_approval"): "agent.payment.pending_approval",
    ("pending_approval", "authorized"): "agent.payment.approved",
    ("pending_approval", "rejected"): "agent.payment.rejected",
    ("pending_approval", "expired"): "agent.payment.expired",
}


def _payment_events(change: Change, session_of: SessionLookup) -> list[OutboundEvent]:
    new = change.new
    assert isinstance(new, PaymentRecord)
    old_status = change.old.stored_status if isinstance(change.old, PaymentRecord) else None
    name = _PAYMENT_CHANGES.get((old_status, new.stored_status))
    if name is None:
        return []
    session = session_of(new.session_id)
    data = payment_body(new, session, change.at) if session else {"id": new.id, "session_id": new.session_id}
    return [
        OutboundEvent(
            id=event_id(change.change_id, name), name=name, account_id=new.account_id, timestamp=change.at, data=data
        )
    ]


class EventBus(Protocol):
    """Where events go (an EventBridge bus on AWS)."""

    def publish(self, events: list[OutboundEvent]) -> int:
        """Publish in order; how many, from the first, were accepted (stops at a failure)."""


def publish_changes(changes: list[Change], bus: EventBus, session_of: SessionLookup) -> int:
    """Publish the events of `changes` in order; how many changes were fully published.

    Fewer than all means the rest must be delivered again (a stream batch retried from the first
    change not published); events already published then go out again with the same ids.
    """
    pending: list[tuple[int, OutboundEvent]] = [
        (position, event) for position, change in enumerate(changes) for event in events_for(change, session_of)
    ]
    accepted = bus.publish([event for _, event in pending]) if pending else 0
    if accepted >= len(pending):
        return len(changes)
    return pending[accepted][0]  # the change whose event was refused, and all after it, are not done
