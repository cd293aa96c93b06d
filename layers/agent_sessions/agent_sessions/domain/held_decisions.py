"""A held payment decided by one write to its session, and settled after by the outbox.

Approving or rejecting a payment answers with the whole payment and its session's exact remaining
amounts, which live on two items. So a plain payment's hold keeps, on its session, what the answer
needs (a `PaymentCopy`, when its description, merchant and metadata are small), and a decision is
one update of the session: it marks the hold decided and returns the session. The outbox then
settles it, in one transaction: the payment's own item takes the decision and the hold leaves
the session's counters.

Until then the session item still counts the hold, so every read of one shows it settled
(`settled_counters`): nothing but the decision's answer, its retry and a read of the payment
needs to know. A payment refused because of a hold decided but not yet settled settles it and
tries again, as it does with a lapsed hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_sessions.domain.holds import DecidedHold, Hold, PaymentCopy
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import HOLD_LIFETIME, PaymentRecord, SessionRecord
from agent_sessions.domain.windows import WINDOW_KINDS, window_position

# The most a copy may take on the session's item (its JSON, in bytes); a larger payment is decided
# as well, in one write, but its answer then reads the payment's own item (two requests).
COPY_BUDGET_BYTES = 256


def hold_of(payment: PaymentRecord) -> Hold:
    """The hold a payment awaiting approval takes on its session.

    An intent's payment (a manual capture's too) is decided with its intent (three items), so only
    a plain payment's hold can be decided by its session alone.
    """
    decidable = payment.intent_id is None
    copy = None
    assert payment.approval_expires_at is not None
    if decidable and payment.currency == "USD":
        candidate = PaymentCopy(
            description=payment.description,
            merchant_id=payment.merchant_id,
            metadata=payment.metadata,
            approval_expires_at=payment.approval_expires_at,
        )
        if len(copy_text(candidate, payment.created_at).encode("utf-8")) <= COPY_BUDGET_BYTES:
            copy = candidate
    return Hold(amount_cents=payment.amount_cents, taken_at=payment.created_at, session_decidable=decidable, copy=copy)


def copy_text(copy: PaymentCopy | None, taken_at: datetime) -> str:
    """A copy as stored: `[description, merchant_id, metadata, approval deadline (epoch s)]`, as short
    as it can be (trailing nulls dropped; the deadline only when it is not HOLD_LIFETIME after
    `taken_at`, the usual); "" for none."""
    if copy is None:
        return ""
    deadline = int(copy.approval_expires_at.timestamp())
    usual = int(taken_at.timestamp()) + int(HOLD_LIFETIME.total_seconds())
    fields = [copy.description, copy.merchant_id, copy.metadata or None, None if deadline == usual else deadline]
    while fields and fields[-1] is None:
        fields.pop()
    return encode_json(fields)


def copy_from_text(fields: list[Any], taken_at: datetime) -> PaymentCopy:
    """The inverse of copy_text, from its parsed JSON."""
    description, merchant_id, metadata, deadline = [*fields, None, None, None, None][:4]
    return PaymentCopy(
        description=description,
        merchant_id=merchant_id,
        metadata=dict(metadata) if metadata else {},
        approval_expires_at=datetime.fromtimestamp(int(deadline), UTC) if deadline else taken_at + HOLD_LIFETIME,
    )


def hold_window_keys(created_at: datetime, hold: Hold) -> tuple[str, ...]:
    """The day, week and month counters a hold's amount went into."""
    return tuple(window_position(kind, created_at, hold.taken_at).counter_key for kind in WINDOW_KINDS)


def settled_counters(
    created_at: datetime, committed: dict[str, int], held: dict[str, int], decided: dict[str, DecidedHold]
) -> tuple[dict[str, int], dict[str, int]]:
    """Committed and held as they will be once `decided` are settled: an approved hold is spend, a
    rejected one is released."""
    committed, held = dict(committed), dict(held)
    for decided_hold in decided.values():
        amount = decided_hold.hold.amount_cents
        for key in hold_window_keys(created_at, decided_hold.hold):
            held[key] = held.get(key, 0) - amount
            if decided_hold.decision == "rejected":
                committed[key] = committed.get(key, 0) - amount
    return committed, held


def decided_payment(session: SessionRecord, payment_id: str) -> PaymentRecord | None:
    """The payment as its decision left it, from what its session's hold kept; None without a copy.

    It is the payment as its answer shows it: the request's fingerprint is not kept here.
    """
    decided = session.decided_holds.get(payment_id)
    if decided is None or decided.hold.copy is None:
        return None
    hold, copy = decided.hold, decided.hold.copy
    return PaymentRecord(
        id=payment_id,
        session_id=session.id,
        account_id=session.account_id,
        amount_cents=hold.amount_cents,
        currency="USD",
        merchant_id=copy.merchant_id,
        description=copy.description,
        metadata=dict(copy.metadata),
        stored_status=decided.decision,
        created_at=hold.taken_at,
        request_fingerprint=None,
        window_keys=hold_window_keys(session.created_at, hold),
        approval_expires_at=copy.approval_expires_at,
        decided_at=decided.decided_at,
        agent_id=session.agent_id or None,
        decision_key=decided.decision_key,
    )


def with_decision_of(payment: PaymentRecord, session: SessionRecord) -> PaymentRecord:
    """A payment read with its session: the decision its session holds that its own item does not yet."""
    decided = session.decided_holds.get(payment.id)
    if decided is None or payment.stored_status != "pending_approval":
        return payment
    return payment.with_changes(
        stored_status=decided.decision, decided_at=decided.decided_at, decision_key=decided.decision_key
    )
