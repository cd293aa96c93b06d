"""POST /api/v1/payments/check: what a payment would get now, with one read and no write.

An agent "checks before each payment": the same body and credentials as POST /api/v1/payments,
answered from the session as it stands, by the same rules the payment's conditional write
enforces (`payment_rules`). Nothing is written, so nothing is reserved: a payment made right
after gets this answer only if nothing else happened in between.
"""

from __future__ import annotations

from datetime import datetime

from agent_sessions.dal.ports import PaymentStore
from agent_sessions.domain.errors import NotFound, SessionExpired, SessionRevoked
from agent_sessions.domain.payment_rules import PaymentCheck, Verdict, refusal_for, session_after_payment
from agent_sessions.domain.records import Caller, PaymentRecord, SessionRecord
from agent_sessions.logic.payments import checked_against, require_session_token
from agent_sessions.logic.platform_payments import platform_session
from agent_sessions.wire.models import CreatePaymentRequest


def check_payment(
    store: PaymentStore, caller: Caller | None, session_token: str | None, request: CreatePaymentRequest, now: datetime
) -> PaymentCheck:
    """What POST /api/v1/payments would answer now for the same caller and body (one read, no write)."""
    session = _paying_session(store, caller, session_token)
    attempt = PaymentRecord(
        id="pay_dryrun",
        session_id=session.id,
        account_id=session.account_id,
        amount_cents=request.amount,
        currency="USD",
        merchant_id=request.merchant_id,
        description=request.description,
        metadata=request.metadata or {},
        stored_status="authorized",
        created_at=now,
        request_fingerprint=None,
    )
    payment, checks = checked_against(attempt, session.terms, now)
    refusal = refusal_for(session, payment, now)
    if isinstance(refusal, SessionRevoked | SessionExpired):
        raise refusal  # an ended session answers a check as it answers the payment: 403
    if refusal is not None:
        return PaymentCheck(would="decline", session_after=session, refusal=refusal)
    would: Verdict = "hold_for_approval" if payment.approval_expires_at is not None else "authorize"
    return PaymentCheck(would=would, session_after=session_after_payment(session, payment, checks))


def _paying_session(store: PaymentStore, caller: Caller | None, session_token: str | None) -> SessionRecord:
    """The session that would pay: the bearer token's, or with an API key the X-Session-Token's (one read)."""
    if caller is not None and caller.kind == "api_key":
        return platform_session(store, caller, session_token)[1]
    return _own_session(store, require_session_token(caller))


def _own_session(store: PaymentStore, agent: Caller) -> SessionRecord:
    found = store.get_session(agent.session_id or "")
    if found is None or found.account_id != agent.account_id:
        raise NotFound()
    return found
