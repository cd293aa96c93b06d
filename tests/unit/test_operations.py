"""The operations on the in-memory store: replay, decline, lapse, approve, reject, revoke, sweep.

No emulator: these run in milliseconds. What only DynamoDB's semantics prove (transactions under
contention, the stream) stays in the moto, dynalite and concurrency suites.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal.decision_ports import HoldNotDecided
from agent_sessions.dal.memory import MemoryStore
from agent_sessions.domain.errors import (
    IdempotencyKeyReused,
    InvalidState,
    LimitExceeded,
    MerchantNotAllowed,
    NotFound,
    RateLimited,
    SessionRevoked,
)
from agent_sessions.domain.records import Caller, SessionRecord
from agent_sessions.logic import expiry, payment_decisions, payments, sessions
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from tests.unit.test_records import CREATED


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def owner(store: MemoryStore) -> Caller:
    minted = sessions.mint_api_key(store, CREATED)
    return Caller(kind="api_key", account_id=minted.account_id)


def open_session(store: MemoryStore, owner: Caller, **fields: object) -> Caller:
    request = CreateSessionRequest.model_validate(
        {"agent_id": "bot", "user_wallet": "w", "limits": {"max_per_day": 100, "require_approval_above": 50}, **fields}
    )
    created = sessions.create_session(store, owner, request, CREATED)
    caller = sessions.authenticate(store, f"Bearer {created.session_token}")
    assert caller is not None
    return caller


def pay(
    store: MemoryStore, agent: Caller, amount: str, key: str | None = None, **fields: object
) -> payments.CreatedPayment:
    request = CreatePaymentRequest.model_validate({"amount": Decimal(amount), **fields})
    return payments.create_payment(store, agent, request, key, CREATED + timedelta(minutes=1))


def remaining_today(store: MemoryStore, agent: Caller) -> int:
    assert agent.session_id is not None
    session = store.get_session(agent.session_id)
    assert session is not None
    return session.window("day", CREATED + timedelta(minutes=1)).remaining_cents


def test_a_replayed_key_answers_the_first_payment_and_debits_once(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    first = pay(store, agent, "29.99", key="k1")
    again = pay(store, agent, "29.99", key="k1")
    assert (first.http_status, first.replayed, again.replayed) == (201, False, True)
    assert again.answer.payment.id == first.answer.payment.id
    assert remaining_today(store, agent) == 100_00 - 29_99
    with pytest.raises(IdempotencyKeyReused):
        pay(store, agent, "30.00", key="k1")


def test_a_decline_is_recorded_and_its_replay_declines_the_same(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner, allowed_merchants=["m1"])
    with pytest.raises(MerchantNotAllowed):
        pay(store, agent, "1.00", key="k", merchant_id="m2")
    with pytest.raises(MerchantNotAllowed):
        pay(store, agent, "1.00", key="k", merchant_id="m2")
    with pytest.raises(LimitExceeded) as over:
        pay(store, agent, "100.01", merchant_id="m1")
    assert over.value.details["limit"] == "max_per_day"
    assert remaining_today(store, agent) == 100_00


def test_an_approved_hold_becomes_spend_and_a_rejected_one_comes_back(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    held = pay(store, agent, "60.00")
    assert (held.http_status, held.answer.payment.stored_status) == (202, "pending_approval")
    assert remaining_today(store, agent) == 40_00
    now = CREATED + timedelta(minutes=2)
    approved = payment_decisions.approve_payment(store, owner, held.answer.payment.id, now)
    assert approved.payment.stored_status == "authorized"
    with pytest.raises(InvalidState):
        payment_decisions.reject_payment(store, owner, held.answer.payment.id, now)
    other = pay(store, agent, "40.00")
    assert other.http_status == 201
    assert remaining_today(store, agent) == 0


class PaymentBetweenReadAndDecision(MemoryStore):
    """A store on which another payment lands on the session just after a decision reads it.

    Its holds cannot be decided by the session's write alone (as an intent's, or one kept before
    holds kept copies), so decisions go the long way: read, then the pinned transaction.
    """

    def __init__(self) -> None:
        super().__init__()
        self.agent: Caller | None = None

    def decide_on_session(self, *args: Any) -> SessionRecord | HoldNotDecided:
        return HoldNotDecided(None)

    def get_payment_and_session(self, payment_id: str, session_id: str) -> tuple[Any, Any]:
        read = super().get_payment_and_session(payment_id, session_id)
        if self.agent is not None:
            agent, self.agent = self.agent, None
            pay(self, agent, "5.00")
        return read


@pytest.mark.parametrize("approve", [True, False])
@pytest.mark.parametrize("meanwhile", [False, True])
def test_a_decision_answers_the_sessions_exact_remaining_amounts(approve: bool, meanwhile: bool) -> None:
    """Pinned to the version it read, the decision computes the session after it; if another payment
    changed the session in between, it decides unpinned and reads the session after."""
    store = PaymentBetweenReadAndDecision()
    owner = Caller(kind="api_key", account_id=sessions.mint_api_key(store, CREATED).account_id)
    agent = open_session(store, owner)
    pay(store, agent, "12.34")
    held = pay(store, agent, "56.78").answer.payment
    store.agent = agent if meanwhile else None
    decide = payment_decisions.approve_payment if approve else payment_decisions.reject_payment
    answer = decide(store, owner, held.id, CREATED + timedelta(minutes=2))
    stored = store.get_session(held.session_id)
    assert stored is not None
    assert answer.session == stored
    assert answer.payment == store.get_payment(held.id)
    spent = 12_34 + (5_00 if meanwhile else 0) + (56_78 if approve else 0)
    assert remaining_today(store, agent) == 100_00 - spent


@pytest.mark.parametrize("approve", [True, False])
def test_a_payment_whose_id_is_from_before_ids_named_their_session_is_still_read_and_decided(
    store: MemoryStore, owner: Caller, approve: bool
) -> None:
    agent = open_session(store, owner)
    now = CREATED + timedelta(minutes=1)
    request = CreatePaymentRequest.model_validate({"amount": Decimal("60.00")})
    payment, checks = payments.build_payment(store, agent, request, None, now)
    older = payment.with_changes(id="pay_" + "q" * 24)  # `pay_` and 24 characters
    assert payments.commit_until_decided(store, older, checks, now).http_status == 202
    assert payment_decisions.get_payment(store, owner, older.id, now).payment.status_at(now) == "pending_approval"
    with pytest.raises(NotFound):  # another account's key
        payment_decisions.get_payment(store, Caller(kind="api_key", account_id="acct_other"), older.id, now)
    decide = payment_decisions.approve_payment if approve else payment_decisions.reject_payment
    answer = decide(store, owner, older.id, now)
    assert answer.payment.stored_status == ("authorized" if approve else "rejected")
    assert answer.session == store.get_session(older.session_id)
    assert remaining_today(store, agent) == (40_00 if approve else 100_00)


def test_a_rejected_hold_releases_its_amount(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    held = pay(store, agent, "70.00")
    payment_decisions.reject_payment(store, owner, held.answer.payment.id, CREATED + timedelta(minutes=2))
    assert remaining_today(store, agent) == 100_00


def test_a_lapsed_hold_is_released_for_the_next_payment_and_by_the_sweep(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    held = pay(store, agent, "90.00")
    later = CREATED + timedelta(minutes=62)
    request = CreatePaymentRequest.model_validate({"amount": Decimal("20.00")})
    after = payments.create_payment(store, agent, request, None, later)  # only fits once the hold lapsed
    assert after.http_status == 201
    lapsed = store.get_payment(held.answer.payment.id)
    assert lapsed is not None
    assert lapsed.stored_status == "expired"
    assert expiry.sweep(store, later).holds_lapsed == 0  # already released


def test_the_sweep_expires_sessions_and_lapses_holds_once(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner, duration_hours=1)
    pay(store, agent, "60.00")
    first = expiry.sweep(store, CREATED + timedelta(hours=2))
    assert (first.sessions_expired, first.holds_lapsed) == (1, 1)
    assert expiry.sweep(store, CREATED + timedelta(hours=2)).items_due == 0


def test_a_revoked_session_pays_nothing_and_another_account_sees_nothing(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    assert agent.session_id is not None
    stranger = Caller(kind="api_key", account_id=sessions.mint_api_key(store, CREATED).account_id)
    with pytest.raises(NotFound):
        sessions.revoke_session(store, stranger, agent.session_id, CREATED)
    with pytest.raises(NotFound):
        sessions.get_session(store, stranger, agent.session_id, CREATED)
    sessions.revoke_session(store, owner, agent.session_id, CREATED)
    with pytest.raises(SessionRevoked):
        pay(store, agent, "1.00")


def test_a_retry_later_refusal_is_not_an_idempotency_keys_answer(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner, limits={"max_per_day": 1000, "require_approval_above": Decimal("0.50")})
    first = [pay(store, agent, "1.00", key=f"hold-{n}") for n in range(50)]
    with pytest.raises(RateLimited):
        pay(store, agent, "1.00", key="K")
    payment_decisions.reject_payment(store, owner, first[0].answer.payment.id, CREATED + timedelta(minutes=2))
    retried = pay(store, agent, "1.00", key="K")  # the retry the 429 asked for now succeeds
    assert (retried.http_status, retried.replayed) == (202, False)


def test_revoking_ends_its_holds_at_once(store: MemoryStore, owner: Caller) -> None:
    agent = open_session(store, owner)
    assert agent.session_id is not None
    held = pay(store, agent, "60.00")
    sessions.revoke_session(store, owner, agent.session_id, CREATED + timedelta(minutes=2))
    lapsed = store.get_payment(held.answer.payment.id)
    session = store.get_session(agent.session_id)
    assert lapsed is not None
    assert session is not None
    assert (lapsed.stored_status, lapsed.decided_at) == ("expired", CREATED + timedelta(minutes=2))
    assert session.holds == {}
    assert session.committed_cents["d0"] == 0
