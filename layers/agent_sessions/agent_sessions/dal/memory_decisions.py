"""A held payment decided by one write to its session, in memory (mixed into MemoryStore).

Memory has no stream, so the decision is settled as it is made: the payment decided and the hold
released at once. The session it returns names the decision among `decided_holds`, as the table's
write does, so the answer is built the same way; there is then nothing left to settle.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from agent_sessions.dal.decision_ports import HoldNotDecided
from agent_sessions.dal.memory_conditions import decidable, epoch, to_second
from agent_sessions.domain.held_decisions import hold_window_keys
from agent_sessions.domain.holds import DecidedHold, Decision, Hold
from agent_sessions.domain.payment_rules import session_after_hold_ends
from agent_sessions.domain.records import HOLD_LIFETIME, PaymentRecord, SessionRecord


class MemorySessionDecisions:
    """SessionDecider and DecisionSettler in memory, over MemoryStore's sessions and payments."""

    _lock: threading.RLock
    _sessions: dict[str, SessionRecord]
    _payments: dict[str, PaymentRecord]

    def decide_on_session(
        self,
        session_id: str,
        payment_id: str,
        account_id: str,
        decision: Decision,
        now: datetime,
        decision_key: str | None,
    ) -> SessionRecord | HoldNotDecided:
        with self._lock:
            session = self._sessions.get(session_id)
            payment = self._payments.get(payment_id)
            hold = session.holds.get(payment_id) if session is not None else None
            if session is None or hold is None or not _decidable_alone(session, hold, payment, account_id, now):
                return HoldNotDecided(session)
            assert payment is not None  # decidable() checked it
            released = hold.amount_cents if decision == "rejected" else 0
            decided_at = to_second(now)
            self._payments[payment_id] = replace(
                payment, stored_status=decision, decided_at=decided_at, decision_key=decision_key
            )
            after = session_after_hold_ends(
                session, payment_id, hold.amount_cents, hold_window_keys(session.created_at, hold), released
            )
            self._sessions[session_id] = after
            return after.with_changes(decided_holds={payment_id: DecidedHold(hold, decision, decided_at, decision_key)})

    def settle_decided_hold(self, session: SessionRecord, payment_id: str) -> bool:
        """Nothing is ever left to settle here (see the module's docstring)."""
        return False


def _decidable_alone(
    session: SessionRecord, hold: Hold, payment: PaymentRecord | None, account_id: str, now: datetime
) -> bool:
    """What the table's decision write checks: the account's session, live, its hold a plain payment's,
    taken less than HOLD_LIFETIME ago, and the payment still pending."""
    lapse_bound = epoch(now) - int(HOLD_LIFETIME.total_seconds())
    return (
        session.account_id == account_id
        and hold.session_decidable
        and epoch(hold.taken_at) > lapse_bound
        and decidable(payment, session, now)
    )
