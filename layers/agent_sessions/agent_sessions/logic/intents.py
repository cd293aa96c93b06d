"""Payment intents: create, confirm from a session (a payment in its one transaction), capture, cancel, read.

Confirming pays from a session exactly as a payment does (`payments.commit_until_decided`): the
session's limits and holds, the ledger, declines. The intent is confirmed by a third item of that
transaction, so no confirmation can pay twice and none can be lost. A manual intent's payment is
held (as one awaiting approval): capturing it is approving it, for at most the held amount;
cancelling it is rejecting it; left alone it lapses, and the intent reads as canceled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent_sessions.dal.ports import IntentStore, PaymentBatchReader, PaymentStore
from agent_sessions.domain.credentials import (
    client_secret_for,
    hash_secret,
    intent_id_for_key,
    new_intent_id,
    payment_id_for,
    secret_matches_hash,
)
from agent_sessions.domain.errors import IdempotencyKeyReused, InvalidState, NotFound, ValidationFailed
from agent_sessions.domain.idempotency import (
    IdempotentCreation,
    checked_idempotency_key,
    decision_key_digest,
    ensure_same_creation,
    request_fingerprint,
)
from agent_sessions.domain.intents import IntentRecord, IntentStatus, intent_expiry, status_after_confirm
from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import Caller, PaymentRecord, SessionTerms
from agent_sessions.logic.payment_decisions import decided_with
from agent_sessions.logic.payments import IntentNotAwaitingPayment, checked_against, commit_until_decided
from agent_sessions.logic.platform_payments import session_for_token
from agent_sessions.wire.models import ConfirmIntentRequest, CreateIntentRequest

MAX_OFFSET = 1000  # the SDK's `offset`: how far a listing may skip


class IntentPaymentStore(IntentStore, PaymentStore, PaymentBatchReader, Protocol):
    """What intents need: their own items, and the payments that pay them."""


@dataclass(frozen=True)
class IntentAnswer:
    """An intent as a reader sees it: its status now, its payment if any, and its client secret when shown."""

    intent: IntentRecord
    status: IntentStatus
    payment: PaymentRecord | None = None
    client_secret: str | None = None
    replayed: bool = False


def create_intent(
    store: IntentStore,
    caller: Caller,
    request: CreateIntentRequest,
    bearer_secret: str,
    now: datetime,
    idempotency: IdempotentCreation | None = None,
) -> IntentAnswer:
    """One conditional put; the client secret derives from the creating key, so only its hash is stored."""
    intent_id = intent_id_for_key(caller.account_id, idempotency.key) if idempotency else new_intent_id()
    client_secret = client_secret_for(intent_id, bearer_secret)
    intent = IntentRecord(
        id=intent_id,
        account_id=caller.account_id,
        amount_cents=request.amount,
        currency="USD",
        description=request.description,
        capture_method=request.capture_method,
        agent_id=request.agent_id,
        agent_name=request.agent_name,
        metadata=request.metadata or {},
        stored_status="requires_payment",
        client_secret_hash=hash_secret(client_secret),
        created_at=now,
        expires_at=intent_expiry(now, request.expires_in_seconds),
        request_fingerprint=request_fingerprint(request.model_dump()) if idempotency else None,
    )
    existing = store.insert_intent(intent)
    if existing is None:
        return IntentAnswer(intent, intent.stored_status, client_secret=client_secret)
    same = existing.account_id == intent.account_id and existing.request_fingerprint == intent.request_fingerprint
    ensure_same_creation("a payment intent", same, client_secret, existing.client_secret_hash)
    return IntentAnswer(existing, existing.status_at(now, None), client_secret=client_secret, replayed=True)


def get_intent(
    store: IntentPaymentStore, caller: Caller, intent_id: str, bearer_secret: str, now: datetime
) -> IntentAnswer:
    """An intent of the caller's account (another's: 404), its client secret if this key created it."""
    intent = _own_intent(store, caller, intent_id)
    return _answer(store, intent, now, bearer_secret)


def list_intents(
    store: IntentPaymentStore,
    caller: Caller,
    status: IntentStatus | None,
    limit: int,
    offset: int,
    cursor: str | None,
    now: datetime,
) -> tuple[list[IntentAnswer], str | None]:
    """A page of the account's intents, newest first, by stored status; `offset` skips (the SDK pages so)."""
    if offset > MAX_OFFSET:
        raise ValidationFailed({"offset": f"must be at most {MAX_OFFSET}; page with next_cursor instead"})
    found: list[IntentRecord] = []
    next_cursor = cursor
    while True:
        page = store.list_intents(caller.account_id, status, offset + limit - len(found), next_cursor)
        found.extend(page.items)
        next_cursor = page.next_cursor
        if len(found) >= offset + limit or next_cursor is None:
            break
    shown = found[offset : offset + limit]
    payments = store.get_payments([intent.payment_id for intent in shown if intent.payment_id])
    answers = [
        IntentAnswer(
            intent, intent.status_at(now, payments.get(intent.payment_id or "")), payments.get(intent.payment_id or "")
        )
        for intent in shown
    ]
    return answers, next_cursor


def confirm_intent(
    store: IntentPaymentStore,
    caller: Caller,
    intent_id: str,
    request: ConfirmIntentRequest,
    header_token: str | None,
    idempotency_key: str | None,
    now: datetime,
) -> IntentAnswer:
    """Pay the intent from the session named by `session_token` (body) or X-Session-Token, or the bearer's own."""
    agent, terms = _paying_session(store, caller, request.session_token or header_token)
    intent = _own_intent(store, caller, intent_id)
    if not secret_matches_hash(request.client_secret, intent.client_secret_hash):
        raise ValidationFailed({"client_secret": "is not this payment intent's client secret"})
    if intent.stored_status != "requires_payment" or intent.lapsed(now):
        return _already_confirmed(store, intent, agent, now)
    payment, checks = checked_against(_payment_for(intent, agent, terms, request, idempotency_key, now), terms, now)
    try:
        created = commit_until_decided(store, payment, checks, now)
    except IntentNotAwaitingPayment:
        return _already_confirmed(store, _own_intent(store, caller, intent_id), agent, now)
    paid = created.answer.payment
    if created.replayed:
        return _answer(store, _own_intent(store, caller, intent_id), now)
    confirmed = intent.with_changes(
        stored_status=status_after_confirm(paid), payment_id=paid.id, session_id=paid.session_id, settled_at=now
    )
    return IntentAnswer(confirmed, confirmed.stored_status, paid)


def capture_intent(
    store: IntentPaymentStore,
    caller: Caller,
    intent_id: str,
    amount_cents: int | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> IntentAnswer:
    """Turn a manual intent's hold into spend: all of it, or `amount_cents` of it (the rest is released).

    A retry with the Idempotency-Key of the capture that succeeded gets its answer again (see
    payment_decisions: the payment keeps a digest of the key).
    """
    key = decision_key_digest(checked_idempotency_key(idempotency_key))
    intent = _own_intent(store, caller, intent_id)
    payment = store.get_payment(intent.payment_id) if intent.payment_id else None
    if decided_with(payment, key):
        return _captured_before(intent, payment, amount_cents, now)
    payment = _held_payment(store, intent, payment, now, "captured")
    _check_capturable(payment, amount_cents)
    if not store.decide_payment(payment, "authorized", now, amount_cents, decision_key=key):
        return _captured_meanwhile(store, intent, payment.id, key, amount_cents, now)
    captured = payment.with_changes(
        stored_status="authorized", decided_at=now, amount_cents=amount_cents or payment.amount_cents, decision_key=key
    )
    settled = intent.with_changes(stored_status="succeeded", settled_at=now)
    return IntentAnswer(settled, "succeeded", captured)


def _check_capturable(payment: PaymentRecord, amount_cents: int | None) -> None:
    if amount_cents is not None and amount_cents > payment.amount_cents:
        held = cents_to_dollars(payment.amount_cents)
        raise ValidationFailed({"amount_to_capture": f"must be at most the held amount, {held}"})


def _captured_meanwhile(
    store: IntentPaymentStore,
    intent: IntentRecord,
    payment_id: str,
    key: str | None,
    amount_cents: int | None,
    now: datetime,
) -> IntentAnswer:
    """The capture lost a race: its own retry's answer if the retry won it, else 409."""
    current = store.get_payment(payment_id)
    if decided_with(current, key):
        return _captured_before(store.get_intent(intent.id) or intent, current, amount_cents, now)
    raise _not_in_state(store, intent, now, "captured")


def _captured_before(
    intent: IntentRecord, payment: PaymentRecord, amount_cents: int | None, now: datetime
) -> IntentAnswer:
    """The answer again to a retry of the capture that captured it; 422 if the retry asks for another amount."""
    if payment.stored_status != "authorized" or (amount_cents is not None and amount_cents != payment.amount_cents):
        raise IdempotencyKeyReused()
    return IntentAnswer(intent, intent.status_at(now, payment), payment)


def cancel_intent(store: IntentPaymentStore, caller: Caller, intent_id: str, now: datetime) -> IntentAnswer:
    """Cancel an intent not yet paid, or release a manual intent's hold; cancelling again changes nothing."""
    intent = _own_intent(store, caller, intent_id)
    if intent.stored_status == "requires_payment" and not intent.lapsed(now):
        if store.cancel_unconfirmed_intent(intent.id, caller.account_id, now):
            canceled = intent.with_changes(stored_status="canceled", settled_at=now)
            return IntentAnswer(canceled, "canceled")
        intent = _own_intent(store, caller, intent_id)  # confirmed meanwhile: cancel its hold instead
    current = _answer(store, intent, now)
    if current.status == "canceled":
        return current
    payment = _held_payment(store, intent, current.payment, now, "canceled")
    if not store.decide_payment(payment, "rejected", now):
        raise _not_in_state(store, intent, now, "canceled")
    released = payment.with_changes(stored_status="rejected", decided_at=now)
    return IntentAnswer(intent.with_changes(stored_status="canceled", settled_at=now), "canceled", released)


def _paying_session(store: PaymentStore, caller: Caller, session_token: str | None) -> tuple[Caller, SessionTerms]:
    """The session that pays: the bearer's own (a session token), else the token sent with the API key."""
    if caller.kind == "session_token" and caller.session_id is not None:
        session = store.get_session(caller.session_id)
        if session is None:
            raise NotFound()
        return caller, session.terms
    if session_token is None:
        raise ValidationFailed(
            {"session_token": "is required: the session that pays, in the body or in X-Session-Token"}
        )
    agent, session = session_for_token(store, caller, session_token)
    return agent, session.terms


def _payment_for(
    intent: IntentRecord,
    agent: Caller,
    terms: SessionTerms,
    request: ConfirmIntentRequest,
    idempotency_key: str | None,
    now: datetime,
) -> PaymentRecord:
    """The payment that pays `intent` from the agent's session (held until captured when manual)."""
    assert agent.session_id is not None
    checked_idempotency_key(idempotency_key)
    merchant = intent.metadata.get("merchant_id")
    confirmation = {"customer_wallet": request.customer_wallet, "payment_type": request.payment_type}
    return PaymentRecord(
        id=payment_id_for(agent.session_id, idempotency_key),
        session_id=agent.session_id,
        account_id=agent.account_id,
        amount_cents=intent.amount_cents,
        currency="USD",
        merchant_id=str(merchant) if isinstance(merchant, str) else None,
        description=intent.description,
        metadata={**(request.metadata or {}), **{k: v for k, v in confirmation.items() if v is not None}},
        stored_status="authorized",
        created_at=now,
        request_fingerprint=request_fingerprint({"intent_id": intent.id, **confirmation}),
        agent_id=terms.agent_id or None,
        intent_id=intent.id,
        held_for_capture=intent.capture_method == "manual",
    )


def _already_confirmed(store: IntentPaymentStore, intent: IntentRecord, agent: Caller, now: datetime) -> IntentAnswer:
    """A confirm retried after it succeeded answers the intent again; any other state is a 409."""
    if intent.stored_status in ("processing", "succeeded") and intent.session_id == agent.session_id:
        return _answer(store, intent, now, replayed=True)
    raise _not_in_state(store, intent, now, "confirmed")


def _held_payment(
    store: IntentPaymentStore, intent: IntentRecord, payment: PaymentRecord | None, now: datetime, wanted: str
) -> PaymentRecord:
    """The pending payment (as read) holding a confirmed intent's amount; 409 if there is none (any more)."""
    if payment is None or intent.stored_status != "processing" or payment.status_at(now) != "pending_approval":
        raise _not_in_state(store, intent, now, wanted)
    return payment


def _not_in_state(store: IntentPaymentStore, intent: IntentRecord, now: datetime, wanted: str) -> InvalidState:
    shown = _answer(store, store.get_intent(intent.id) or intent, now).status
    return InvalidState(f"The payment intent is {shown}; it cannot be {wanted}.", {"status": shown})


def _own_intent(store: IntentStore, caller: Caller, intent_id: str) -> IntentRecord:
    intent = store.get_intent(intent_id)
    if intent is None or intent.account_id != caller.account_id:
        raise NotFound()
    return intent


def _answer(
    store: IntentPaymentStore,
    intent: IntentRecord,
    now: datetime,
    bearer_secret: str | None = None,
    replayed: bool = False,
) -> IntentAnswer:
    """The intent as a reader sees it now (a confirmed one reads its payment: one more request)."""
    payment = store.get_payment(intent.payment_id) if intent.payment_id else None
    secret = client_secret_for(intent.id, bearer_secret) if bearer_secret else None
    shown_secret = secret if secret and secret_matches_hash(secret, intent.client_secret_hash) else None
    return IntentAnswer(intent, intent.status_at(now, payment), payment, shown_secret, replayed)
