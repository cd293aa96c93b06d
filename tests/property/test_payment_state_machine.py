"""A hypothesis state machine over payments, approvals, rejections, lapses, revokes and clock moves.

After every step, against the real store on moto:
- in every window, what is authorized plus what is held never exceeds the window's limit;
- the session's stored counters equal the sums over its payment records;
- the holds the session keeps are exactly its payments still awaiting approval.
"""

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from agent_sessions.dal import codec, dynamo
from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import Caller, PaymentRecord, SessionRecord, utc_now
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from agent_sessions_local.template import load_template, table_definition
from tests.conftest import TABLE_NAME

OWNER = Caller(kind="api_key", account_id="acct_statemachine00000000000")
LIMITS = {"max_per_transaction": 60, "max_per_day": 100, "max_per_week": 250, "max_per_month": 400}
APPROVAL_ABOVE = 30
LIMIT_BY_PREFIX = {"d": 100_00, "w": 250_00, "m": 400_00}


class PaymentLedger(RuleBasedStateMachine):
    """One session, driven through the service with a clock the machine controls."""

    def __init__(self) -> None:
        super().__init__()
        # moto is started once for the module (starting it per example costs more than the test).
        self.client = boto3.client("dynamodb")
        if TABLE_NAME in self.client.list_tables()["TableNames"]:
            self.client.delete_table(TableName=TABLE_NAME)
        # The template's table without its stream, which moto would copy on every transaction.
        definition = table_definition(load_template(), TABLE_NAME)
        definition.pop("StreamSpecification", None)
        self.client.create_table(**definition)
        self.store = dynamo.default_store()
        self.now = utc_now()
        self.pending_ids: list[str] = []  # as of the last invariant check
        self.steps = 0

    @initialize()
    def open_session(self) -> None:
        request = CreateSessionRequest.model_validate(
            {
                "agent_id": "machine",
                "user_wallet": "w",
                "duration_hours": 168,
                "limits": {**LIMITS, "require_approval_above": APPROVAL_ABOVE},
            }
        )
        created = service.create_session(self.store, OWNER, request, self.now)
        caller = service.authenticate(self.store, f"Bearer {created.session_token}")
        assert caller is not None
        self.agent = caller
        self.session_id = created.session.id

    # ---- what happens -------------------------------------------------------------------

    @rule(
        cents=st.sampled_from([1, 99, 10_00, 30_00, 30_01, 35_00, 45_50, 60_00, 60_01]),
        key=st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"])),
    )
    def pay(self, cents: int, key: str | None) -> None:
        body = CreatePaymentRequest.model_validate({"amount": cents, "merchant_id": "m"})
        body = body.model_copy(update={"amount": cents})
        refusal = None
        try:
            created = payment_service.create_payment(self.store, self.agent, body, key, self.now)
        except DomainError as raised:
            refusal = raised
        else:
            if not created.replayed:  # the session it answers with is the stored one, read or computed
                assert created.answer.session == self.session()
        assert refusal is None or refusal.code in {
            "LIMIT_EXCEEDED",
            "SESSION_REVOKED",
            "SESSION_EXPIRED",
            "IDEMPOTENCY_KEY_REUSED",
            "RATE_LIMITED",
        }

    @precondition(lambda self: bool(self.pending_ids))
    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data: st.DataObject, approve: bool) -> None:
        payment_id = data.draw(st.sampled_from(self.pending_ids))
        refused_with = None
        try:
            answer = payment_service.decide_payment(self.store, OWNER, payment_id, approve, self.now)
        except DomainError as refusal:
            refused_with = refusal.code
        payment = self.store.get_payment(payment_id)
        assert payment is not None
        if refused_with is None:
            event("decided")
            assert answer.payment.stored_status == payment.stored_status == ("authorized" if approve else "rejected")
        else:
            event("decide refused")  # only a payment whose hold has lapsed may be refused
            assert (refused_with, payment.status_at(self.now, self.session().ended_at)) == ("INVALID_STATE", "expired")

    @rule()
    def release_lapsed_holds(self) -> None:
        """What the expiry job does for holds past their deadline."""
        session = self.session()
        for payment_id, hold in session.lapsed_holds(self.now).items():
            self.store.release_lapsed_hold(session, payment_id, hold)

    @precondition(lambda self: self.steps >= 15)  # late, so most runs first exercise a live session
    @rule()
    def revoke(self) -> None:
        service.revoke_session(self.store, OWNER, self.session_id, self.now)

    @rule(minutes=st.sampled_from([1, 30, 61, 6 * 60, 24 * 60, 3 * 24 * 60]))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # ---- what must always hold ------------------------------------------------------------

    def session(self) -> SessionRecord:
        session = self.store.get_session(self.session_id)
        assert session is not None
        return session

    def ledger(self) -> list[PaymentRecord]:
        items = self.client.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
        return [codec.payment_record(item) for item in items if item["type"]["S"] == "payment"]

    @invariant()
    def counters_match_the_ledger_and_no_window_exceeds_its_limit(self) -> None:
        session = self.session()
        ledger = self.ledger()
        committed: dict[str, int] = {}
        held: dict[str, int] = {}
        for payment in ledger:
            if payment.stored_status not in ("authorized", "pending_approval"):
                continue
            for key in payment.window_keys:
                committed[key] = committed.get(key, 0) + payment.amount_cents
                if payment.stored_status == "pending_approval":
                    held[key] = held.get(key, 0) + payment.amount_cents
        self.steps += 1
        self.pending_ids = sorted(p.id for p in ledger if p.stored_status == "pending_approval")
        assert {k: v for k, v in session.committed_cents.items() if v} == committed
        assert {k: v for k, v in session.held_cents.items() if v} == held
        assert sorted(session.holds) == self.pending_ids
        for key, cents in session.committed_cents.items():
            assert 0 <= cents <= LIMIT_BY_PREFIX[key[0]]
        for kind in WINDOW_KINDS:
            window = session.window(kind, self.now)
            assert window.spent_cents + window.held_cents <= session.limits_cents[WINDOW_LIMIT_NAME[kind]]
            assert window.held_cents >= 0


@pytest.fixture(autouse=True, scope="module")
def moto_for_the_module() -> Iterator[None]:
    """One moto for every example; each example recreates the table."""
    with mock_aws():
        dynamo.default_store.cache_clear()
        yield
    dynamo.default_store.cache_clear()


PaymentLedger.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPaymentLedger = PaymentLedger.TestCase


def test_the_machine_reaches_every_status() -> None:
    """Not vacuous: a scripted run through the machine's own rules visits each payment status."""
    machine = PaymentLedger()
    machine.open_session()
    machine.pay(20_00, None)  # authorized
    machine.pay(40_00, None)  # pending
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()
    payment_service.decide_payment(machine.store, OWNER, machine.pending_ids[0], False, machine.now)  # rejected
    machine.pay(40_00, None)  # pending, then lapses
    machine.advance_clock(61)
    machine.release_lapsed_holds()
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()
    statuses = {payment.stored_status for payment in machine.ledger()}
    assert statuses == {"authorized", "rejected", "expired"}
