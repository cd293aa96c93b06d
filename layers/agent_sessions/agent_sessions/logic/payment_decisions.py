"""A payment read by its id, and the decision on one awaiting approval (approve or reject).

A payment id names its session, so the payment and its session are read together in one request.
A plain payment's decision is one write to its session (domain/held_decisions.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeGuard

from agent_sessions.dal.decision_ports import HoldNotDecided, SessionDecider
from agent_sessions.dal.ports import PaymentStore
from agent_sessions.domain.credentials import session_id_of_payment
from agent_sessions.domain.errors import IdempotencyKeyReused, InvalidState, NotFound
from agent_sessions.domain.held_decisions import decided_payment, with_decision_of
from agent_sessions.domain.idempotency import checked_idempotency_key, decision_key_digest
from agent_sessions.domain.payment_rules import session_after_hold_ends, spent_by_decision
from agent_sessions.domain.records import Caller, Decision, PaymentRecord, SessionRecord
from agent_sessions.logic.payments import PaymentAnswer
from agent_sessions.logic.sessions import ensure_token_session_live, require_api_key


class DecisionStore(PaymentStore, SessionDecider, Protocol):
    """What deciding a payment uses: the payment store, and the decision by one write to the session."""


def get_payment(store: PaymentStore, caller: Caller, payment_id: str, now: datetime) -> PaymentAnswer:
    """A payment for its account's key, or for its own session's token while that session is live."""
    payment, session = _callers_payment(store, caller, payment_id)
    if caller.kind == "session_token":
        if caller.session_id != payment.session_id:
            raise NotFound()
        ensure_token_session_live(session, now)
    return PaymentAnswer(payment, session)


def payment_and_session(store: PaymentStore, payment_id: str) -> tuple[PaymentRecord | None, SessionRecord | None]:
    """A payment and its session: one read when the id names its session, else two (an older id).

    The payment shows a decision its session holds and its own item does not have yet.
    """
    session_id = session_id_of_payment(payment_id)
    if session_id is None:
        payment = store.get_payment(payment_id)
        return payment, store.get_session(payment.session_id) if payment else None
    payment, session = store.get_payment_and_session(payment_id, session_id)
    if payment is not None and payment.session_id != session_id:
        return None, None  # never so for an id this service made
    if payment is not None and session is not None:
        payment = with_decision_of(payment, session)
    return payment, session


def approve_payment(
    store: DecisionStore, caller: Caller, payment_id: str, now: datetime, idempotency_key: str | None = None
) -> PaymentAnswer:
    """Approve a payment awaiting approval: its hold becomes spend."""
    return _decide(store, caller, payment_id, "authorized", now, idempotency_key)


def reject_payment(
    store: DecisionStore, caller: Caller, payment_id: str, now: datetime, idempotency_key: str | None = None
) -> PaymentAnswer:
    """Reject a payment awaiting approval: its hold is released."""
    return _decide(store, caller, payment_id, "rejected", now, idempotency_key)


def _decide(
    store: DecisionStore,
    caller: Caller,
    payment_id: str,
    decision: Decision,
    now: datetime,
    idempotency_key: str | None,
) -> PaymentAnswer:
    """Decide a payment awaiting approval, for its account's API key.

    A plain payment's: one write to its session, which answers with the session after it and the
    payment as its hold kept it (its own item is read too when the payment was too large to keep).

    Otherwise (an intent's payment, one held before holds kept copies, or a refusal to say why):
    two requests, the payment and its session read together, then the decision's one transaction,
    pinned to the session's version as read, so the answer's remaining amounts are computed, not
    read back. If the session changed in between (a payment, say), the decision is made unpinned
    and the session read after it.

    The payment keeps a digest of the decision's Idempotency-Key. A retry with that key (the SDK
    retries a POST whose answer was lost, with the same key) is answered as its first request was:
    200 and the payment, with the session's remaining amounts now; the key sent with the other
    decision is a 422 IDEMPOTENCY_KEY_REUSED. Any other decision of a decided payment is a 409.
    """
    require_api_key(caller)
    key = decision_key_digest(checked_idempotency_key(idempotency_key))
    answer = _decided_on_session(store, caller, payment_id, decision, now, key)
    if answer is not None:
        return answer
    payment, session = _callers_payment(store, caller, payment_id)
    if payment.status_at(now, session.ended_at) != "pending_approval":
        return _answered_before(payment, session, decision, key, now)
    decided = payment.with_changes(stored_status=decision, decided_at=now, decision_key=key)
    if not store.decide_payment(payment, decision, now, expected_version=session.version, decision_key=key):
        return _decided_unpinned(store, payment, decided, decision, key, now)
    released_cents = payment.amount_cents - spent_by_decision(payment.amount_cents, decision)
    after = session_after_hold_ends(session, payment.id, payment.amount_cents, payment.window_keys, released_cents)
    return PaymentAnswer(decided, after)


def _decided_on_session(
    store: DecisionStore, caller: Caller, payment_id: str, decision: Decision, now: datetime, key: str | None
) -> PaymentAnswer | None:
    """The decision as one write to the payment's session, or its retry answered from the session
    that the refusal sent back; None when it must be made (or refused) the long way."""
    session_id = session_id_of_payment(payment_id)
    if session_id is None:
        return None  # an older id does not name its session
    outcome = store.decide_on_session(session_id, payment_id, caller.account_id, decision, now, key)
    if isinstance(outcome, HoldNotDecided):
        before = outcome.session
        if before is None or before.account_id != caller.account_id or payment_id not in before.decided_holds:
            return None
        session = before  # decided already, not settled yet: perhaps this is its retry
    else:
        session = outcome
    payment = decided_payment(session, payment_id)
    if payment is None:  # too large to keep on the session: its own item has the rest
        stored = store.get_payment(payment_id)
        if stored is None:
            raise NotFound()
        payment = with_decision_of(stored, session)
    if session is outcome:
        return PaymentAnswer(payment, session)
    return _answered_before(payment, session, decision, key, now)


def _decided_unpinned(
    store: PaymentStore,
    payment: PaymentRecord,
    decided: PaymentRecord,
    decision: Decision,
    key: str | None,
    now: datetime,
) -> PaymentAnswer:
    """Decide without a pin (the session moved on since it was read); the session after, read back."""
    if not store.decide_payment(payment, decision, now, decision_key=key):
        current, session = payment_and_session(store, payment.id)
        if current is None or session is None:
            raise NotFound()
        return _answered_before(current, session, decision, key, now)  # decided meanwhile: perhaps its retry
    session = store.get_session(payment.session_id)
    if session is None:
        raise NotFound()
    return PaymentAnswer(decided, session)


def _answered_before(
    payment: PaymentRecord, session: SessionRecord, decision: Decision, key: str | None, now: datetime
) -> PaymentAnswer:
    """A decided payment: the answer again to a retry of the decision that decided it, else a refusal."""
    if decided_with(payment, key):
        if payment.stored_status != decision:
            raise IdempotencyKeyReused()
        return PaymentAnswer(payment, session)
    raise _not_pending(payment.status_at(now, session.ended_at))


def decided_with(payment: PaymentRecord | None, key: str | None) -> TypeGuard[PaymentRecord]:
    """Whether `payment` was decided by a request sent with this key (its digest; None when none was sent)."""
    return key is not None and payment is not None and payment.decision_key == key


def _callers_payment(store: PaymentStore, caller: Caller, payment_id: str) -> tuple[PaymentRecord, SessionRecord]:
    """The caller's account's payment and its session; 404 for another account's, a decline, or none."""
    payment, session = payment_and_session(store, payment_id)
    if payment is None or session is None or payment.account_id != caller.account_id:
        raise NotFound()
    if payment.stored_status == "declined":
        raise NotFound()
    return payment, session


def _not_pending(status: str) -> InvalidState:
    return InvalidState(f"The payment is {status}, not pending_approval.", {"status": status})
