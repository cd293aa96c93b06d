"""Records shaped into the wire models, amounts turned from cents into exact dollars."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, cast

from agent_sessions.domain.agent_keys import AgentKeyRecord
from agent_sessions.domain.consent import ConsentRequest
from agent_sessions.domain.events import EVENT_NAMES
from agent_sessions.domain.intents import IntentRecord, IntentStatus
from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.payment_rules import PaymentCheck
from agent_sessions.domain.records import LIVE_STATUSES, PaymentRecord, SessionRecord, WindowState, format_timestamp
from agent_sessions.domain.webhook_records import WebhookRecord
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME, WindowKind, current_counter_key
from agent_sessions.wire.answers import (
    AccountPaymentOut,
    ConsentOut,
    LimitsOut,
    PaymentCheckOut,
    PaymentOut,
    PaymentRatesOut,
    RateLimitsOut,
    RemainingOut,
    SessionOut,
    SmartPaymentOut,
    WindowOut,
    WindowsOut,
)
from agent_sessions.wire.models import WirePaymentStatus


def _window_out(window: WindowState) -> WindowOut:
    return WindowOut(
        limit=cents_to_dollars(window.limit_cents),
        spent=cents_to_dollars(window.spent_cents),
        held=cents_to_dollars(window.held_cents),
        remaining=cents_to_dollars(window.remaining_cents),
        resets_at=format_timestamp(window.resets_at),
    )


def session_out(session: SessionRecord, now: datetime, session_token: str | None = None) -> SessionOut:
    """A session as the API shows it at `now`; the token only when just created."""
    windows = session.windows(now)
    status = session.status_at(now)
    return SessionOut(
        id=session.id,
        session_token=session_token,
        agent_id=session.agent_id,
        agent_name=session.agent_name,
        user_wallet=session.user_wallet,
        limits=LimitsOut(
            **{name: cents_to_dollars(cents) for name, cents in session.limits_cents.items()},
            max_payments_per_day=session.velocity.get("per_day"),
        ),
        rate_limits=RateLimitsOut(
            payments=PaymentRatesOut(
                per_minute=session.velocity.get("per_minute"), per_hour=session.velocity.get("per_hour")
            )
        ),
        allowed_merchants=session.allowed_merchants,
        status=status,
        is_active=status in LIVE_STATUSES,
        created_at=format_timestamp(session.created_at),
        expires_at=format_timestamp(session.expires_at),
        revoked_at=format_timestamp(session.revoked_at) if session.revoked_at else None,
        remaining_today=cents_to_dollars(windows["day"].remaining_cents),
        remaining_this_week=cents_to_dollars(windows["week"].remaining_cents),
        remaining_this_month=cents_to_dollars(windows["month"].remaining_cents),
        windows=WindowsOut(
            day=_window_out(windows["day"]), week=_window_out(windows["week"]), month=_window_out(windows["month"])
        ),
        pkp_address=session.pkp_address,
        metadata=session.metadata,
        consent_deadline=format_timestamp(session.consent_deadline) if session.consent_deadline else None,
        warn_at_percent=session.warn_at_percent,
        version=session.terms_rev,
    )


def session_body(session: SessionRecord, now: datetime, session_token: str | None = None) -> dict[str, Any]:
    """The JSON-ready dict of a session; `session_token` appears only when given."""
    body: dict[str, Any] = session_out(session, now, session_token).model_dump()
    if session_token is None:
        body.pop("session_token")
    return body


def payment_body(
    payment: PaymentRecord, session: SessionRecord, now: datetime, as_created: bool = False
) -> dict[str, Any]:
    """The JSON-ready dict of a payment: payment_out(...).model_dump(), built straight from the records.

    It is the answer to every payment, so it skips building and validating the model; its fields
    and values are the model's (tests/unit/test_views.py holds the two equal for drawn payments).
    """
    status, decided_at = _shown_status(payment, session, now, as_created)
    remaining = remaining_cents(session, now)
    return {
        "id": payment.id,
        "session_id": payment.session_id,
        "amount": cents_to_dollars(payment.amount_cents),
        "currency": payment.currency,
        "merchant_id": payment.merchant_id,
        "description": payment.description,
        "status": status,
        "created_at": format_timestamp(payment.created_at),
        "decided_at": format_timestamp(decided_at) if decided_at else None,
        "approval_expires_at": format_timestamp(payment.approval_expires_at) if payment.approval_expires_at else None,
        "remaining_today": cents_to_dollars(remaining["day"]),
        "remaining_this_week": cents_to_dollars(remaining["week"]),
        "remaining_this_month": cents_to_dollars(remaining["month"]),
        "metadata": copy.deepcopy(payment.metadata) if payment.metadata else {},
    }


def remaining_cents(session: SessionRecord, now: datetime) -> dict[WindowKind, int]:
    """What day, week and month have left at `now`: each of session.windows(now)'s remaining_cents.

    Every payment's answer shows these three. Without holds nothing can have lapsed, so each is
    its limit less its committed counter, read without building the windows.
    """
    if session.holds:
        return {kind: window.remaining_cents for kind, window in session.windows(now).items()}
    return {
        kind: max(
            0,
            session.limits_cents[WINDOW_LIMIT_NAME[kind]]
            - session.committed_cents.get(current_counter_key(kind, session.created_at, now), 0),
        )
        for kind in WINDOW_KINDS
    }


def _shown_status(
    payment: PaymentRecord, session: SessionRecord, now: datetime, as_created: bool
) -> tuple[str, datetime | None]:
    """The status and decision time a payment shows at `now` (as created: its first status, undecided)."""
    status = payment.first_status if as_created else payment.status_at(now, session.ended_at)
    decided_at = None if as_created else payment.decided_at
    if status == "expired" and decided_at is None:
        decided_at = payment.lapses_at(session.ended_at)  # lapsed, not yet written by the expiry job
    return status, decided_at


def payment_out(payment: PaymentRecord, session: SessionRecord, now: datetime, as_created: bool = False) -> PaymentOut:
    """A payment as the API shows it, with its session's remaining amounts at `now`.

    `as_created` shows the payment as it was when created (its first status, undecided): the
    body an Idempotency-Key replay answers.
    """
    windows = session.windows(now)
    status, decided_at = _shown_status(payment, session, now, as_created)
    return PaymentOut(
        id=payment.id,
        session_id=payment.session_id,
        amount=cents_to_dollars(payment.amount_cents),
        currency=payment.currency,
        merchant_id=payment.merchant_id,
        description=payment.description,
        status=cast(WirePaymentStatus, status),
        created_at=format_timestamp(payment.created_at),
        decided_at=format_timestamp(decided_at) if decided_at else None,
        approval_expires_at=format_timestamp(payment.approval_expires_at) if payment.approval_expires_at else None,
        remaining_today=cents_to_dollars(windows["day"].remaining_cents),
        remaining_this_week=cents_to_dollars(windows["week"].remaining_cents),
        remaining_this_month=cents_to_dollars(windows["month"].remaining_cents),
        metadata=payment.metadata,
    )


def smart_payment_body(
    payment: PaymentRecord, session: SessionRecord, now: datetime, receipt_url: str
) -> dict[str, Any]:
    """The SDK's SmartPaymentResponse for a payment as created, with the payment itself alongside."""
    shown = payment_out(payment, session, now, as_created=True)
    authorized = payment.first_status == "authorized"
    next_steps = (
        "Payment authorized and recorded against the session's limits; no signature or further action is needed."
        if authorized
        else "Payment is awaiting approval: its amount is held against the session's limits until the platform "
        f"approves or rejects it, or it lapses at {shown.approval_expires_at}."
    )
    out = SmartPaymentOut(
        payment_id=payment.id,
        status="confirmed" if authorized else "pending",
        amount_usd=cents_to_dollars(payment.amount_cents),
        gasless_used=False,
        settlement_complete=authorized,
        requires_signature=False,
        receipt_url=receipt_url,
        next_steps=next_steps,
        created_at=shown.created_at,
        session_id=payment.session_id,
        payment=shown,
    )
    return out.model_dump()


def webhook_body(webhook: WebhookRecord, secret: str | None = None) -> dict[str, Any]:
    """The wire shape of an endpoint; the secret only when just created."""
    body: dict[str, Any] = {
        "id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events) if webhook.events is not None else list(EVENT_NAMES),
        "created_at": format_timestamp(webhook.created_at),
        "disabled_at": format_timestamp(webhook.disabled_at) if webhook.disabled_at else None,
    }
    if secret is not None:
        body["secret"] = secret
    return body


def payment_check_body(check: PaymentCheck, now: datetime) -> dict[str, Any]:
    """The JSON-ready answer of a dry-run check."""
    windows = check.session_after.windows(now)
    refusal = check.refusal
    rule = None
    resets_at: str | None = format_timestamp(windows["day"].resets_at)
    if refusal is not None:
        rule = str(refusal.details.get("limit") or refusal.code.lower())
        resets_at = refusal.details.get("resets_at")
    body: dict[str, Any] = PaymentCheckOut(
        would=check.would,
        rule=rule,
        code=refusal.code if refusal else None,
        message=refusal.message if refusal else None,
        details=refusal.details if refusal else None,
        remaining_after=RemainingOut(
            remaining_today=cents_to_dollars(windows["day"].remaining_cents),
            remaining_this_week=cents_to_dollars(windows["week"].remaining_cents),
            remaining_this_month=cents_to_dollars(windows["month"].remaining_cents),
        ),
        resets_at=resets_at,
    ).model_dump()
    return body


def consent_body(session: SessionRecord, request: ConsentRequest, now: datetime) -> dict[str, Any]:
    """The JSON-ready answer of GET …/consent."""
    body: dict[str, Any] = ConsentOut(
        session_id=session.id,
        status=session.status_at(now),
        consent_deadline=format_timestamp(session.consent_deadline) if session.consent_deadline else None,
        wallet_kind=request.wallet_kind,
        message=request.message,
        parameters=request.parameters,
        parameters_sha256=request.parameters_sha256,
        parameters_keccak256=request.parameters_keccak256,
        consent_signature=session.consent_signature,
    ).model_dump()
    return body


def account_payment_body(payment: PaymentRecord, now: datetime) -> dict[str, Any]:
    """A payment as GET /api/v1/payments lists it (a hold past its deadline reads expired)."""
    status = payment.status_at(now)
    decided_at = payment.decided_at or (payment.lapses_at() if status == "expired" else None)
    body: dict[str, Any] = AccountPaymentOut(
        id=payment.id,
        session_id=payment.session_id,
        agent_id=payment.agent_id,
        amount=cents_to_dollars(payment.amount_cents),
        currency=payment.currency,
        merchant_id=payment.merchant_id,
        description=payment.description,
        status=cast(WirePaymentStatus, status),
        created_at=format_timestamp(payment.created_at),
        decided_at=format_timestamp(decided_at) if decided_at else None,
        approval_expires_at=format_timestamp(payment.approval_expires_at) if payment.approval_expires_at else None,
        metadata=payment.metadata,
    ).model_dump()
    return body


def agent_key_body(key: AgentKeyRecord, full_key: str | None = None) -> dict[str, Any]:
    """The wire shape of an agent key; its full key only when just created."""
    body: dict[str, Any] = {
        "id": key.id,
        "key_prefix": key.key_prefix,
        "name": key.name,
        "agent_id": key.agent_id,
        "agent_name": key.agent_name,
        "scopes": list(key.scopes),
        "rate_limit_per_hour": key.rate_limit_per_hour,
        "agent_metadata": key.metadata,
        "is_active": key.is_active,
        "created_at": format_timestamp(key.created_at),
        "revoked_at": format_timestamp(key.revoked_at) if key.revoked_at else None,
    }
    if full_key is not None:
        body["full_key"] = full_key
    return body


def intent_body(
    intent: IntentRecord, status: IntentStatus, payment: PaymentRecord | None, client_secret: str | None
) -> dict[str, Any]:
    """The wire shape of a payment intent, with the status it has now."""
    spent = payment is not None and payment.stored_status == "authorized"
    return {
        "id": intent.id,
        "client_secret": client_secret,
        "amount": cents_to_dollars(intent.amount_cents),
        "currency": intent.currency,
        "description": intent.description,
        "status": status,
        "capture_method": intent.capture_method,
        "agent_id": intent.agent_id,
        "agent_name": intent.agent_name,
        "payment_id": intent.payment_id,
        "session_id": intent.session_id,
        "amount_captured": cents_to_dollars(payment.amount_cents) if payment is not None and spent else None,
        "metadata": intent.metadata,
        "created_at": format_timestamp(intent.created_at),
        "expires_at": format_timestamp(intent.expires_at),
    }
