"""Payments: create (one transaction), replay by Idempotency-Key, read, list, approve, reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_sessions.dal.ports import (
    CommitOutcome,
    DeclineLister,
    IntentNotPayable,
    PaymentAlreadyExists,
    PaymentCommitted,
    PaymentStore,
    SessionRefused,
    TransactionContended,
)
from agent_sessions.domain.credentials import payment_id_for
from agent_sessions.domain.errors import (
    PAYMENT_REFUSALS,
    ConsentRequired,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidState,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from agent_sessions.domain.held_decisions import with_decision_of
from agent_sessions.domain.idempotency import checked_idempotency_key, request_fingerprint
from agent_sessions.domain.pages import Page
from agent_sessions.domain.payment_rules import (
    PaymentChecks,
    approval_deadline,
    needs_approval,
    payment_checks,
    refusal_for,
    session_after_payment,
    with_stale_counts,
)
from agent_sessions.domain.records import Caller, Decline, PaymentRecord, SessionRecord, SessionTerms
from agent_sessions.logic.known_sessions import KnownSessions
from agent_sessions.logic.sessions import require_api_key
from agent_sessions.wire.models import CreatePaymentRequest

# A refused commit whose cause has since gone (a lapsed hold released meanwhile) is tried again.
MAX_COMMIT_ATTEMPTS = 4


class IntentNotAwaitingPayment(InvalidState):
    """The payment intent being confirmed was confirmed, canceled or expired meanwhile (nothing was written)."""

    default_message = "The payment intent no longer awaits payment."


# Per process, as a Lambda instance keeps its module state between invocations.
known_sessions = KnownSessions()


@dataclass(frozen=True)
class PaymentAnswer:
    """A payment and the session it belongs to, as read for an answer."""

    payment: PaymentRecord
    session: SessionRecord


@dataclass(frozen=True)
class CreatedPayment:
    """What POST /payments answers: 201 authorized or 202 pending_approval (also on a replay)."""

    http_status: int
    answer: PaymentAnswer
    replayed: bool


def require_session_token(caller: Caller | None) -> Caller:
    """The caller, if it used a session token; 401 without a credential, 403 with an API key."""
    if caller is None:
        raise Unauthenticated()
    if caller.kind != "session_token" or caller.session_id is None:
        raise Forbidden("Payments are made with a session token, not an API key.")
    return caller


def create_payment(
    store: PaymentStore,
    caller: Caller,
    request: CreatePaymentRequest,
    idempotency_key: str | None,
    now: datetime,
) -> CreatedPayment:
    """Check and debit atomically: build the record, commit until decided, then answer or decline."""
    payment, checks = build_payment(store, caller, request, idempotency_key, now)
    return commit_until_decided(store, payment, checks, now)


def build_payment(
    store: PaymentStore,
    caller: Caller,
    request: CreatePaymentRequest,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[PaymentRecord, PaymentChecks]:
    """The payment record a request asks for, and the windows and counts it must fit in."""
    session_id = caller.session_id
    assert session_id is not None  # require_session_token guarantees it
    checked_idempotency_key(idempotency_key)
    terms = caller.terms or _read_terms(store, session_id)
    shape, checks = _shaped_by(terms, request.amount, now)
    payment = PaymentRecord(
        id=payment_id_for(session_id, idempotency_key),
        session_id=session_id,
        account_id=caller.account_id,
        amount_cents=request.amount,
        currency="USD",
        merchant_id=request.merchant_id,
        description=request.description,
        metadata=request.metadata or {},
        created_at=now,
        request_fingerprint=_fingerprint(request) if idempotency_key else None,
        agent_id=terms.agent_id or None,
        **shape,
    )
    return payment, checks


def checked_against(payment: PaymentRecord, terms: SessionTerms, now: datetime) -> tuple[PaymentRecord, PaymentChecks]:
    """The payment as `terms` make it (held for approval or not), and what its write must check.

    A manual payment intent's payment is always held: its capture is the approval.
    """
    shape, checks = _shaped_by(terms, payment.amount_cents, now, held_for_capture=payment.held_for_capture)
    return payment.with_changes(**shape), checks


def _shaped_by(
    terms: SessionTerms, amount_cents: int, now: datetime, *, held_for_capture: bool = False
) -> tuple[dict[str, Any], PaymentChecks]:
    """What `terms` make of a payment of `amount_cents` (its status, window counters and approval
    deadline, as PaymentRecord fields), and what its write must check. A manual intent's payment
    (`held_for_capture`) is held whatever its amount."""
    approval = needs_approval(terms, amount_cents) or held_for_capture
    checks = payment_checks(terms, amount_cents, now)
    shape = {
        "stored_status": "pending_approval" if approval else "authorized",
        "window_keys": tuple(check.counter_key for check in checks.windows),
        "approval_expires_at": approval_deadline(terms, now) if approval else None,
    }
    return shape, checks


def _fingerprint(request: CreatePaymentRequest) -> str:
    return request_fingerprint(
        {
            "amount_cents": request.amount,
            "currency": "USD",
            "merchant_id": request.merchant_id,
            "description": request.description,
            "metadata": request.metadata or {},
        }
    )


def commit_until_decided(
    store: PaymentStore, payment: PaymentRecord, checks: PaymentChecks, now: datetime
) -> CreatedPayment:
    """Commit (pinned to the known version first); a refusal whose cause has lapsed is tried again.

    A refusal that no rule explains may also mean the terms changed (a PATCH) since they were
    read: the payment is then checked again against the terms the refusal showed.
    """
    known = known_sessions.pinnable(payment.session_id)
    payment, checks = _against_terms_of(known, payment, checks, now)
    for _ in range(MAX_COMMIT_ATTEMPTS):
        checks = with_stale_counts(checks, known, now)
        outcome = _attempt(store, payment, checks, known, now)
        if isinstance(outcome, PaymentCommitted):
            return _committed(store, payment, checks, known)
        if isinstance(outcome, PaymentAlreadyExists):
            return _replay(store, outcome.payment, payment)
        if isinstance(outcome, IntentNotPayable):
            raise IntentNotAwaitingPayment()
        payment, checks = _against_terms_of(outcome.session, payment, checks, now)
        decided = _after_refusal(store, payment, outcome, known, now)
        if decided is not None:
            return decided
        known = None  # retries are not pinned
    raise RateLimited(_BUSY)


def _attempt(
    store: PaymentStore, payment: PaymentRecord, checks: PaymentChecks, known: SessionRecord | None, now: datetime
) -> CommitOutcome:
    """One commit, pinned to `known`'s version when there is one; contention that never ends is a 429."""
    try:
        return store.commit_payment(payment, checks, now, known.version if known else None)
    except TransactionContended as exc:
        raise RateLimited(_BUSY) from exc


def _against_terms_of(
    session: SessionRecord | None, payment: PaymentRecord, checks: PaymentChecks, now: datetime
) -> tuple[PaymentRecord, PaymentChecks]:
    """The payment checked again if `session` shows other terms than its checks were made from (a PATCH)."""
    if session is None or session.terms_rev == checks.terms_rev:
        return payment, checks
    return checked_against(payment, session.terms, now)


_BUSY = "The session is busy; retry with the same Idempotency-Key."


def _committed(
    store: PaymentStore, payment: PaymentRecord, checks: PaymentChecks, known: SessionRecord | None
) -> CreatedPayment:
    """The answer to a committed payment: the session computed from the pinned version, else read."""
    session = session_after_payment(known, payment, checks) if known else store.get_session(payment.session_id)
    assert session is not None  # it was just debited
    known_sessions.remember(session)
    return CreatedPayment(_created_status(payment), PaymentAnswer(payment, session), replayed=False)


def _after_refusal(
    store: PaymentStore, payment: PaymentRecord, outcome: SessionRefused, known: SessionRecord | None, now: datetime
) -> CreatedPayment | None:
    """Decline by the rule that refused, or (nothing refuses once lapsed holds are released) None to retry."""
    session = outcome.session
    if session is None:
        raise NotFound()
    known_sessions.remember(session)
    if known is not None and known.version != session.version:
        known_sessions.contended(session.id)
    refusal = refusal_for(session, payment, now)
    if refusal is not None:
        return _decline(store, payment, refusal)
    for payment_id, hold in session.lapsed_holds(now).items():
        store.release_lapsed_hold(session, payment_id, hold)
    for payment_id in session.decided_holds:  # decided, not yet settled: the counters still hold them
        store.settle_decided_hold(session, payment_id)
    return None


def _read_terms(store: PaymentStore, session_id: str) -> SessionTerms:
    """The session's terms when the authorizer did not pass them (one extra read)."""
    session = store.get_session(session_id)
    if session is None:
        raise NotFound()
    return session.terms


def _created_status(payment: PaymentRecord) -> int:
    return 202 if payment.first_status == "pending_approval" else 201


def _decline(store: PaymentStore, payment: PaymentRecord, refusal: DomainError) -> CreatedPayment:
    """Record the refusal in the ledger, then raise it; a concurrent twin's record wins instead.

    Only a final refusal (a rule) is recorded. "Retry later" (429: too many holds or payments,
    403 consent required) is not, so the retry it asks for, with the same Idempotency-Key, can
    succeed once the cause is gone.
    """
    if isinstance(refusal, RateLimited | ConsentRequired):
        raise refusal
    declined = payment.with_changes(
        stored_status="declined",
        window_keys=(),
        approval_expires_at=None,
        decline=Decline(code=refusal.code, message=refusal.message, details=refusal.details),
    )
    existing = store.insert_declined_payment(declined)
    if existing is not None:
        return _replay(store, existing, payment)
    raise refusal


def _replay(store: PaymentStore, existing: PaymentRecord, attempt: PaymentRecord) -> CreatedPayment:
    """The first answer to an Idempotency-Key, if this request is the same as the first."""
    if existing.session_id != attempt.session_id or existing.request_fingerprint != attempt.request_fingerprint:
        raise IdempotencyKeyReused()
    if existing.decline is not None:
        refusal = PAYMENT_REFUSALS.get(existing.decline.code, DomainError)
        raise refusal(existing.decline.message, existing.decline.details)
    session = store.get_session(existing.session_id)
    if session is None:
        raise NotFound()
    return CreatedPayment(_created_status(existing), PaymentAnswer(existing, session), replayed=True)


def list_payments(
    store: PaymentStore, caller: Caller, session_id: str, limit: int, cursor: str | None
) -> tuple[SessionRecord, Page[PaymentRecord]]:
    """A page of one of the caller's sessions' payments, newest first."""
    require_api_key(caller)
    session = store.get_session(session_id)
    if session is None or session.account_id != caller.account_id:
        raise NotFound()
    page = store.list_payments(session_id, limit, cursor)
    if session.decided_holds:  # decisions the outbox has not settled yet: the session says so
        page = Page([with_decision_of(payment, session) for payment in page.items], page.next_cursor)
    return session, page


def session_ledger(
    store: PaymentStore, decline_lister: DeclineLister, caller: Caller, session_id: str, limit: int
) -> list[PaymentRecord]:
    """A session's latest payments with its latest declined attempts among them, newest first (the console's ledger)."""
    _, page = list_payments(store, caller, session_id, limit, None)
    declined = decline_lister.list_declined_payments(session_id, limit)
    return sorted([*page.items, *declined], key=lambda payment: payment.created_at, reverse=True)[:limit]
