"""The store Protocols of a held payment decided by one write to its session (domain/held_decisions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent_sessions.domain.records import Decision, SessionRecord


@dataclass(frozen=True)
class HoldNotDecided:
    """A decision by the session's write was refused; `session` is how it stood (None: not said, so read it)."""

    session: SessionRecord | None


class DecisionSettler(Protocol):
    """Settling a hold decided by its session's write."""

    def settle_decided_hold(self, session: SessionRecord, payment_id: str) -> bool:
        """The payment's item takes the decision and the hold leaves the session's counters, in one
        transaction; False when it was settled already (or was never decided so)."""


class SessionDecider(Protocol):
    """Deciding a held payment by one write to its session."""

    def decide_on_session(
        self,
        session_id: str,
        payment_id: str,
        account_id: str,
        decision: Decision,
        now: datetime,
        decision_key: str | None,
    ) -> SessionRecord | HoldNotDecided:
        """Mark the payment's hold decided, if the session is the account's, live, and holds it undecided,
        not lapsed and decidable so: one UpdateItem. Returns the session after it (the hold among
        `decided_holds`), or why not."""
