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
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agent_sessions.domain.events import EVENT_NAMES
from agent_sessions.domain.held_decisions import with_decision_of
from agent_sessions.domain.intents import IntentRecord
from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import (
    PaymentChangeKind,
    PaymentRecord,
    PaymentStatus,
    SessionRecord,
    format_timestamp,
)
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME, window_of_counter
from agent_sessions.wire.views import intent_body, payment_body, session_body

Record = SessionRecord | PaymentRecord | IntentRecord
NANOS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class Change:
    """One stream record: which item changed, how, and when."""

    change_id: str  # the stream record's eventID: stable across redeliveries
    old: Record | None
    new: Record | None
    at: datetime  # the stream's approximate time (seconds); the item's own `changed_ns` wins


@dataclass(frozen=True)
class OutboundEvent:
    """One of the contract's events, ready to publish."""

    id: str
    name: str
    account_id: str
    timestamp_ns: int
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The webhook body: {"id", "event", "timestamp", "merchant_id", "data"}."""
        return {
            "id": self.id,
            "event": self.name,
            "timestamp": format_timestamp_ns(self.timestamp_ns),
            "merchant_id": self.account_id,
            "data": self.data,
        }


def format_timestamp_ns(moment_ns: int) -> str:
    """ISO-8601 UTC to the nanosecond: `2026-11-24T10:00:00.123456789Z`."""
    seconds, nanos = divmod(moment_ns, NANOS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def moment_of(moment_ns: int) -> datetime:
    """A nanosecond epoch as a datetime (to the microsecond)."""
    seconds, nanos = divmod(moment_ns, NANOS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)


def event_id(*parts: str) -> str:
    """`evt_` and 24 base32 characters derived from `parts`."""
    digest = hashlib.sha256("\n".join(parts).encode()).digest()
    return "evt_" + base64.b32encode(digest[:15]).decode().lower()


PaymentLookup = Callable[[str], PaymentRecord | None]


def events_for(change: Change, payment_of: PaymentLookup) -> list[OutboundEvent]:
    """The events one change announces (often none).

    Every event but an intent's comes from a change to a session: a payment's write changes its session in the
    same transaction and names the payment there (`last_payment_change`), so the session's new
    image is exactly what that payment left, and its events say so, however many payments
    followed. The write's own time (ns) is each event's timestamp; events of one name from one
    change are a nanosecond apart, so no two events share (account, name, timestamp).
    """
    new = change.new
    if isinstance(new, IntentRecord):
        at_ns = new.changed_ns or int(change.at.timestamp()) * NANOS_PER_SECOND
        old_intent = change.old if isinstance(change.old, IntentRecord) else None
        found = _intent_events(change.change_id, old_intent, new)
    elif isinstance(new, SessionRecord):
        at_ns = new.changed_at_ns or int(change.at.timestamp()) * NANOS_PER_SECOND
        old = change.old if isinstance(change.old, SessionRecord) else None
        at = moment_of(at_ns)
        found = [
            *_payment_events(change.change_id, old, new, at, payment_of),
            *_session_events(change.change_id, old, new, at),
        ]
    else:
        return []
    seen: dict[str, int] = {}
    events = []
    for name, id_parts, data in found:
        offset = seen.get(name, 0)
        seen[name] = offset + 1
        events.append(
            OutboundEvent(
                id=event_id(*id_parts), name=name, account_id=new.account_id, timestamp_ns=at_ns + offset, data=data
            )
        )
    return events


FoundEvent = tuple[str, tuple[str, ...], dict[str, Any]]  # name, what its id derives from, data


def _intent_events(change_id: str, old: IntentRecord | None, new: IntentRecord) -> list[FoundEvent]:
    """An intent created, or moved to processing (held), succeeded or canceled by this write."""
    if old is not None and old.stored_status == new.stored_status:
        return []
    name = "agent.intent.created" if old is None else f"agent.intent.{new.stored_status}"
    if name not in EVENT_NAMES:
        return []
    return [(name, (change_id, name), intent_body(new, new.stored_status, None, None))]


def _session_events(change_id: str, old: SessionRecord | None, new: SessionRecord, at: datetime) -> list[FoundEvent]:
    body = session_body(new, at)
    if old is None:
        return [("agent.session.created", (change_id, "agent.session.created"), body)]
    events: list[FoundEvent] = []
    if old.stored_status in ("active", "pending_consent") and new.stored_status in ("revoked", "expired"):
        name = f"agent.session.{new.stored_status}"
        events.append((name, (change_id, name), body))
    if old.stored_status == "pending_consent" and new.stored_status == "active":
        name = "agent.session.consented"
        events.append((name, (change_id, name), {**body, "consent_signature": new.consent_signature}))
    if old.terms_rev != new.terms_rev:
        name = "agent.session.updated"
        events.append((name, (change_id, name), {**body, "changes": terms_changes(old, new, at)}))
    events += _window_alert_events(old, new, body)
    for kind in WINDOW_KINDS:
        before, after = old.window(kind, at), new.window(kind, at)
        if before.remaining_cents > 0 and after.remaining_cents == 0:
            reached = {
                "window": kind,
                "limit": WINDOW_LIMIT_NAME[kind],
                "resets_at": format_timestamp(after.resets_at),
            }
            window_id = (new.id, f"{kind}:{after.resets_at.isoformat()}")  # once per window, whatever filled it
            events.append(("agent.session.limit_reached", window_id, {**body, "limit_reached": reached}))
    return events


def _window_alert_events(old: SessionRecord, new: SessionRecord, body: dict[str, Any]) -> list[FoundEvent]:
    """A warning or a resumption the write recorded (once per window: the record is keyed by it)."""
    events: list[FoundEvent] = []
    for record, name in (("warned", "agent.session.limit_warning"), ("resumed", "agent.session.resumed")):
        for key in sorted(set(getattr(new, record)) - set(getattr(old, record))):
            position = window_of_counter(key, new.created_at)
            if position is None:
                continue
            limit = new.limits_cents[WINDOW_LIMIT_NAME[position.kind]]
            about = {
                "window": position.kind,
                "limit": WINDOW_LIMIT_NAME[position.kind],
                "limit_amount": cents_to_dollars(limit),
                "committed": cents_to_dollars(new.committed_cents.get(key, 0)),
                "threshold_percent": new.warn_at_percent,
                "resets_at": format_timestamp(position.resets_at),
            }
            detail = "limit_warning" if record == "warned" else "resumed"
            events.append((name, (new.id, name, key), {**body, detail: about}))
    return events


_TERMS = ("limits", "rate_limits", "allowed_merchants", "expires_at")


def terms_changes(old: SessionRecord, new: SessionRecord, at: datetime) -> dict[str, Any]:
    """What a change of terms changed: `before` and `after` of each term that differs, and both versions."""
    before, after = session_body(old, at), session_body(new, at)
    changed = [term for term in _TERMS if before[term] != after[term]]
    return {
        "before": {term: before[term] for term in changed},
        "after": {term: after[term] for term in changed},
        "version_before": old.terms_rev,
        "version_after": new.terms_rev,
    }


_PAYMENT_EVENTS: dict[PaymentChangeKind, tuple[str, PaymentStatus]] = {
    "authorized": ("agent.payment.authorized", "authorized"),
    "pending_approval": ("agent.payment.pending_approval", "pending_approval"),
    "approved": ("agent.payment.approved", "authorized"),
    "rejected": ("agent.payment.rejected", "rejected"),
    "expired": ("agent.payment.expired", "expired"),
}


def _payment_events(
    change_id: str, old: SessionRecord | None, new: SessionRecord, at: datetime, payment_of: PaymentLookup
) -> list[FoundEvent]:
    """The payment event of a session write that changed a payment, with the session as it left it."""
    mark = new.last_payment_change
    if mark is None or (old is not None and old.last_payment_change == mark):
        return []
    name, status = _PAYMENT_EVENTS[mark.change]
    payment = payment_of(mark.payment_id)
    if payment is None:  # never, the payment being written with its session: say what is known
        return [(name, (change_id, name), {"id": mark.payment_id, "session_id": new.id})]
    payment = with_decision_of(payment, new)  # a decision its own item may not have yet
    decided = mark.change in ("approved", "rejected", "expired")
    as_then = payment.with_changes(stored_status=status, decided_at=payment.decided_at if decided else None)
    return [(name, (change_id, name), payment_body(as_then, new, at))]


class EventBus(Protocol):
    """Where events go (an EventBridge bus on AWS)."""

    def publish(self, events: list[OutboundEvent]) -> int:
        """Publish in order; how many, from the first, were accepted (stops at a failure)."""


def payments_named(changes: list[Change]) -> list[str]:
    """The ids of the payments `changes` announce: what publishing them reads (once, batched)."""
    return [
        change.new.last_payment_change.payment_id
        for change in changes
        if isinstance(change.new, SessionRecord) and change.new.last_payment_change is not None
    ]


def publish_changes(changes: list[Change], bus: EventBus, payment_of: PaymentLookup) -> int:
    """Publish the events of `changes` in order; how many changes were fully published.

    Fewer than all means the rest must be delivered again (a stream batch retried from the first
    change not published); events already published then go out again with the same ids.
    """
    pending: list[tuple[int, OutboundEvent]] = [
        (position, event) for position, change in enumerate(changes) for event in events_for(change, payment_of)
    ]
    accepted = bus.publish([event for _, event in pending]) if pending else 0
    if accepted >= len(pending):
        return len(changes)
    return pending[accepted][0]  # the change whose event was refused, and all after it, are not done
