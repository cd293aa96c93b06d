"""The payment paths a platform takes with its API key: `X-Session-Token`, and the SDK's smart payment.

Both name the session by its token (in a header, or in the body) and then pay exactly as the
agent would with the token as its bearer: the same one-request debit, limits, holds,
Idempotency-Key and ledger (`payments.create_payment`). The token is checked here rather than
by the authorizer, which authenticates the API key (and caches by the Authorization header).
"""

from __future__ import annotations

from datetime import datetime

from agent_sessions.dal.ports import PaymentStore
from agent_sessions.domain.credentials import parse_bearer
from agent_sessions.domain.errors import Forbidden, NotFound, Unauthenticated
from agent_sessions.domain.records import Caller, SessionRecord
from agent_sessions.logic import sessions
from agent_sessions.logic.payments import CreatedPayment, create_payment, known_sessions, require_session_token
from agent_sessions.logic.sessions import require_api_key
from agent_sessions.wire.models import CreatePaymentRequest, SmartPaymentRequest

# What `agent_id` / `user_wallet` say when the SDK leaves them to the session (`zendfi.agent.pay`).
SESSIONS_OWN = {"agent_id": ("session", ""), "user_wallet": ("",)}


def paying_caller(store: PaymentStore, caller: Caller | None, session_token: str | None) -> Caller:
    """Who pays on POST /api/v1/payments: the bearer's session, or with an API key the X-Session-Token's.

    With a session token as the bearer, X-Session-Token is not needed and not read.
    """
    if caller is not None and caller.kind == "api_key":
        agent, _ = platform_session(store, caller, session_token)
        return agent
    return require_session_token(caller)


def platform_session(store: PaymentStore, platform: Caller, session_token: str | None) -> tuple[Caller, SessionRecord]:
    """With the platform's API key as the bearer, the session X-Session-Token names (403 without one)."""
    if session_token is None:
        raise Forbidden(
            "Payments are made for a session: send its token as the bearer, "
            "or send the API key as the bearer and the session token in X-Session-Token."
        )
    return session_for_token(store, platform, session_token)


def session_for_token(store: PaymentStore, platform: Caller, session_token: str) -> tuple[Caller, SessionRecord]:
    """The session a token names, for a platform's API key: 401 if not genuine, 404 if another account's.

    One strongly consistent read, which also tells the payment the session's exact version, so
    its write can be pinned to it (and its answer needs no second read).
    """
    presented = parse_bearer(f"Bearer {session_token}")
    session = sessions.session_for_token(store, presented) if presented else None
    if session is None:
        raise Unauthenticated()
    if session.account_id != platform.account_id:
        raise NotFound()
    known_sessions.remember(session)
    return sessions.session_caller(session), session


def _names_the_sessions(field: str, given: str | None, own: str) -> bool:
    """Whether a smart payment's `agent_id` / `user_wallet` is the session's (left out counts as yes)."""
    return given is None or given in SESSIONS_OWN[field] or given == own


def smart_payment(
    store: PaymentStore,
    caller: Caller | None,
    request: SmartPaymentRequest,
    idempotency_key: str | None,
    now: datetime,
) -> CreatedPayment:
    """POST /api/v1/ai/smart-payment: the platform pays for the session whose token the body carries."""
    platform = require_api_key(caller)
    agent, session = session_for_token(store, platform, request.session_token)
    mismatched = [
        name
        for name, given, own in (
            ("agent_id", request.agent_id, session.agent_id),
            ("user_wallet", request.user_wallet, session.user_wallet),
        )
        if not _names_the_sessions(name, given, own)
    ]
    if mismatched:
        raise Forbidden(
            f"The session token belongs to a session with another {' and '.join(mismatched)}.",
            {"fields": {name: "is not the session's" for name in mismatched}},
        )
    payment: CreatePaymentRequest = request.as_payment()
    return create_payment(store, agent, payment, idempotency_key, now)
