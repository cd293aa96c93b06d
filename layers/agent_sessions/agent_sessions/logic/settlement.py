"""The outbox's settlement of held payments decided by one write to their session (domain/held_decisions.py)."""

from __future__ import annotations

from agent_sessions.dal.decision_ports import DecisionSettler
from agent_sessions.domain.records import SessionRecord
from agent_sessions.logic.outbox import Change


def settle_decisions(store: DecisionSettler, changes: list[Change]) -> int:
    """Settle each hold the changes show decided but not settled; how many were settled now.

    A settlement is conditional on the hold still being there, decided, so a redelivered change
    (or one the payment path settled first) settles nothing twice.
    """
    settled = 0
    for change in changes:
        if isinstance(change.new, SessionRecord):
            for payment_id in change.new.decided_holds:
                settled += store.settle_decided_hold(change.new, payment_id)
    return settled
