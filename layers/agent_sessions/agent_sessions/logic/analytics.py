"""Agent analytics (`zendfi.agent.getAnalytics`): per-account, per-day counters kept from the stream.

`publish_events` tallies each decision once: a payment that succeeded (authorized, or approved
after a hold) adds to its day's count and volume (and its token's), one that failed (declined,
rejected, lapsed) to its day's failures, each also under its agent. Sessions created and ended
move the account's count of live sessions and of live sessions per agent. Every tally is one
conditional transaction with a mark of its source, so a redelivered batch counts nothing twice.
A read is one BatchGetItem of at most MAX_DAYS day items and the account's item, however many
payments there were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from agent_sessions.dal.analytics_ports import AnalyticsStore, DayTally, DayTotals
from agent_sessions.domain.days import parse_days
from agent_sessions.domain.errors import ValidationFailed
from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import Caller, PaymentRecord, SessionRecord
from agent_sessions.logic.outbox import Change
from agent_sessions.logic.sessions import require_api_key

MAX_DAYS = 92
DEFAULT_DAYS = 30
_SUCCEEDED = ("authorized", "approved")
_FAILED = ("rejected", "expired")

SessionLookup = Callable[[str], SessionRecord | None]
PaymentLookup = Callable[[str], PaymentRecord | None]


def tally(store: AnalyticsStore, changes: list[Change], payment_of: PaymentLookup) -> int:
    """Count what `changes` decided, once each; how many tallies were new."""
    counted = 0
    for change in changes:
        for source, account_id, day_tally in _payment_tallies(change, payment_of, store.get_session):
            counted += store.add_tally(source, account_id, day_tally)
        for source, account_id, agent_id, delta in _session_tallies(change):
            counted += store.add_live_sessions(source, account_id, agent_id, delta)
    return counted


def _payment_tallies(
    change: Change, payment_of: PaymentLookup, session_of: SessionLookup
) -> list[tuple[str, str, DayTally]]:
    new, old = change.new, change.old
    if isinstance(new, PaymentRecord):
        return _declined(new, session_of) if old is None and new.stored_status == "declined" else []
    if isinstance(new, SessionRecord) and isinstance(old, SessionRecord):
        return _decided(old, new, payment_of)
    return []


def _decided(old: SessionRecord, new: SessionRecord, payment_of: PaymentLookup) -> list[tuple[str, str, DayTally]]:
    """A session write that settled a payment: succeeded (authorized, approved) or failed (rejected, lapsed)."""
    mark = new.last_payment_change
    if mark is None or old.last_payment_change == mark or mark.change not in _SUCCEEDED + _FAILED:
        return []
    payment = payment_of(mark.payment_id)
    if payment is None:
        return []
    source = f"{mark.payment_id}:{mark.change}"
    if mark.change in _FAILED:
        return [(source, new.account_id, _failed(payment, new.agent_id))]
    day = payment.created_at.date().isoformat()
    return [(source, new.account_id, DayTally(day, new.agent_id, 1, payment.amount_cents, 0, payment.currency))]


def _declined(payment: PaymentRecord, session_of: SessionLookup) -> list[tuple[str, str, DayTally]]:
    session = session_of(payment.session_id)
    agent = session.agent_id if session is not None else ""
    return [(f"declined:{payment.id}", payment.account_id, _failed(payment, agent))]


def _failed(payment: PaymentRecord, agent_id: str) -> DayTally:
    return DayTally(payment.created_at.date().isoformat(), agent_id, 0, 0, 1, payment.currency)


def _session_tallies(change: Change) -> list[tuple[str, str, str, int]]:
    new, old = change.new, change.old
    if not isinstance(new, SessionRecord):
        return []
    live = ("active", "pending_consent")
    if old is None:
        return [(f"{new.id}:created", new.account_id, new.agent_id, 1)]
    if isinstance(old, SessionRecord) and old.stored_status in live and new.stored_status not in live:
        return [(f"{new.id}:ended", new.account_id, new.agent_id, -1)]
    return []


@dataclass(frozen=True)
class Analytics:
    """The SDK's AgentAnalytics, for one account (and optionally one agent) over a range of days."""

    days: list[DayTotals]
    live_sessions: int
    live_agents: int

    def body(self) -> dict[str, Any]:
        succeeded = sum(day.succeeded for day in self.days)
        failed = sum(day.failed for day in self.days)
        volume = sum(day.volume_cents for day in self.days)
        tokens: dict[str, int] = {}
        for day in self.days:
            for token, cents in day.tokens.items():
                tokens[token] = tokens.get(token, 0) + cents
        return {
            "total_payments": succeeded,
            "total_volume_usd": cents_to_dollars(volume),
            "average_payment_usd": cents_to_dollars(volume // succeeded) if succeeded else Decimal(0),
            "success_rate": _ratio(succeeded, succeeded + failed),
            "active_sessions": self.live_sessions,
            "active_delegates": self.live_agents,
            "ppp_savings_usd": Decimal(0),
            "payments_by_token": {token: cents_to_dollars(cents) for token, cents in sorted(tokens.items())},
            "payments_by_day": [
                {"date": day.day, "count": day.succeeded, "volume_usd": cents_to_dollars(day.volume_cents)}
                for day in self.days
            ],
        }


def _ratio(part: int, whole: int) -> Decimal:
    """part / whole to four places, exact (no float), 0 when there is nothing to divide."""
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal(0)


def agent_analytics(
    store: AnalyticsStore,
    caller: Caller | None,
    agent_id: str | None,
    start: str | None,
    end: str | None,
    now: datetime,
) -> Analytics:
    """The account's analytics (one agent's with `agent_id`) from `start` to `end` (days, inclusive)."""
    account = require_api_key(caller).account_id
    first, last = _range(start, end, now.date())
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    tallies, live_sessions, live_agents = store.read_tallies(account, agent_id, days)
    return Analytics(days=tallies, live_sessions=live_sessions, live_agents=live_agents)


def _range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    given_first, given_last = parse_days(start, end)
    last = given_last or today
    first = given_first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last or (last - first).days >= MAX_DAYS:
        raise ValidationFailed({"from": f"must be on or before `to`, at most {MAX_DAYS} days before it"})
    return first, last
