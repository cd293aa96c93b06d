"""A hypothesis state machine over payments, checks, approvals, rejections, lapses, PATCHes of the
limits, payment intents (create, confirm, capture all or part, cancel, lapse), revokes and clock moves.

After every step, against the real store on moto:
- every payment, when it commits, leaves each window within the limit in force at that moment,
  and no window's counter ever exceeds the highest limit it was under;
- the session's stored counters equal the sums over its payment records;
- each payment count (per minute, hour, day) equals the payments committed in that window, and
  never exceeds its limit;
- the holds the session keeps are exactly its payments still awaiting approval;
- a dry-run check answers exactly what the payment right after it gets;
- every intent's status agrees with its payment: none before it is confirmed, authorized once it
  succeeded (for at most its amount), awaiting approval (or lapsed) while processing.
"""

import os
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from agent_sessions.dal import dynamo
from agent_sessions.dal.codec import from_item
from agent_sessions.dal.intents import intent_record
from agent_sessions.dal.payment_codec import payment_record
from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.held_decisions import with_decision_of
from agent_sessions.domain.records import Caller, PaymentRecord, SessionRecord, utc_now
from agent_sessions.domain.windows import VELOCITY_NAMES, WINDOW_KINDS, WINDOW_LIMIT_NAME, velocity_position
from agent_sessions.logic import intents as intent_service
from agent_sessions.logic import payment_decisions, session_updates, settlement
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.logic.known_sessions import KnownSessions
from agent_sessions.logic.outbox import Change
from agent_sessions.logic.payment_checks import check_payment
from agent_sessions.logic.session_updates import update_session
from agent_sessions.wire.models import (
    ConfirmIntentRequest,
    CreateIntentRequest,
    CreatePaymentRequest,
    CreateSessionRequest,
    UpdateSessionRequest,
)
from agent_sessions_local.template import load_template, table_definition
from tests.conftest import TABLE_NAME

OWNER = Caller(kind="api_key", account_id="acct_statemachine00000000000")
LIMITS = {"max_per_transaction": 60, "max_per_day": 100, "max_per_week": 250, "max_per_month": 400}
APPROVAL_ABOVE = 30
VELOCITY = {"rate_limits": {"payments": {"per_minute": 4, "per_hour": 9}}}
PREFIX_OF_LIMIT = {"max_per_day": "d", "max_per_week": "w", "max_per_month": "m"}


def note(text: str) -> None:
    """A hypothesis event when a test runs (the scripted tests call the same rules outside one)."""
    if currently_in_test_context():
        event(text)


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
        # As of the last invariant check, in the order they were made. Ids are random, so a list in id
        # order would give the same drawn choice another payment on a replay of the same steps, and
        # hypothesis refuses a machine whose draws change between replays (FlakyStrategyDefinition).
        self.pending_ids: list[str] = []
        self.steps = 0
        # The highest limit each kind of window has been under (a PATCH may lower it below what is spent).
        self.highest_limit = {"d": 100_00, "w": 250_00, "m": 400_00}
        self.highest_per_minute = 4
        self.client_secrets: dict[str, str] = {}  # intent id -> its client secret, in the order made

    @initialize()
    def open_session(self) -> None:
        request = CreateSessionRequest.model_validate(
            {
                "agent_id": "machine",
                "user_wallet": "w",
                "duration_hours": 168,
                "limits": {**LIMITS, "require_approval_above": APPROVAL_ABOVE},
                **VELOCITY,
            }
        )
        created = service.create_session(self.store, OWNER, request, self.now)
        caller = service.authenticate(self.store, f"Bearer {created.session_token}")
        assert caller is not None
        self.agent = caller
        self.session_id = created.session.id
        self.created_parameters = created.session.attestation_parameters()

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
                after = self.session()
                assert created.answer.session == after
                for kind in WINDOW_KINDS:  # within the limit in force when it committed
                    window = after.window(kind, self.now)
                    assert window.spent_cents + window.held_cents <= window.limit_cents
        assert refusal is None or refusal.code in {
            "LIMIT_EXCEEDED",
            "SESSION_REVOKED",
            "SESSION_EXPIRED",
            "IDEMPOTENCY_KEY_REUSED",
            "RATE_LIMITED",
            "VELOCITY_LIMIT",
        }

    @rule(cents=st.sampled_from([1, 10_00, 30_01, 45_50, 60_01]))
    def check_then_pay(self, cents: int) -> None:
        """A check answers what the payment right after it gets (nothing happens in between)."""
        body = CreatePaymentRequest.model_validate({"amount": 1, "merchant_id": "m"}).model_copy(
            update={"amount": cents}
        )
        if not self.session().is_active_at(self.now):
            with pytest.raises(DomainError, match="session has"):  # revoked or expired: 403, as a payment
                check_payment(self.store, self.agent, None, body, self.now)
            return
        verdict = check_payment(self.store, self.agent, None, body, self.now)
        event(f"checked: {verdict.would}")
        if verdict.would == "decline":
            assert verdict.refusal is not None
            with pytest.raises(DomainError) as refused:
                payment_service.create_payment(self.store, self.agent, body, None, self.now)
            assert (verdict.refusal.code, verdict.refusal.details) == (refused.value.code, refused.value.details)
            return
        created = payment_service.create_payment(self.store, self.agent, body, None, self.now)
        expected = "hold_for_approval" if created.http_status == 202 else "authorize"
        assert verdict.would == expected
        assert verdict.session_after.windows(self.now) == created.answer.session.windows(self.now)

    @rule(
        day=st.sampled_from([40_00, 100_00, 150_00]),
        per_minute=st.sampled_from([1, 4, 20]),
        approval=st.sampled_from([10_00, 30_00]),
        elsewhere=st.booleans(),
    )
    def patch_limits(self, day: int, per_minute: int, approval: int, elsewhere: bool) -> None:
        """Lower or raise the day's limit, the payments per minute and the approval threshold,
        from the instance that made the last change or from one that knows no session (written blind)."""
        known = session_updates.known_terms
        session_updates.known_terms = KnownSessions(capacity=0) if elsewhere else known
        try:
            self._patch_limits(day, per_minute, approval)
        finally:
            session_updates.known_terms = known
        assert self.session().attestation_parameters() == self.created_parameters

    def _patch_limits(self, day: int, per_minute: int, approval: int) -> None:
        request = UpdateSessionRequest.model_validate(
            {"limits": {"max_per_day": 1}, "rate_limits": {"payments": {"per_minute": per_minute}}}
        )
        assert request.limits is not None
        request.limits.max_per_day, request.limits.require_approval_above = day, approval  # cents, as validated
        session = self.session()
        if not session.is_active_at(self.now):
            with pytest.raises(DomainError, match="no longer change"):  # 409: only an ended session refuses
                update_session(self.store, OWNER, self.session_id, request, str(session.terms_rev), self.now)
            return
        changed = update_session(self.store, OWNER, self.session_id, request, str(session.terms_rev), self.now)
        assert changed == self.session()  # as written (computed from the session this instance knew, or read)
        assert changed.limits_cents["max_per_day"] == day
        assert changed.velocity["per_minute"] == per_minute
        self.highest_limit["d"] = max(self.highest_limit["d"], day)
        self.highest_per_minute = max(self.highest_per_minute, per_minute)

    @precondition(lambda self: bool(self.pending_ids))
    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data: st.DataObject, approve: bool) -> None:
        payment_id = data.draw(st.sampled_from(self.pending_ids))
        refused_with = None
        try:
            decide = payment_decisions.approve_payment if approve else payment_decisions.reject_payment
            answer = decide(self.store, OWNER, payment_id, self.now)
        except DomainError as refusal:
            refused_with = refusal.code
        stored = self.store.get_payment(payment_id)
        assert stored is not None
        payment = with_decision_of(stored, self.session())  # its own item says so once the outbox settled it
        if refused_with is None:
            event("decided")
            assert answer.payment.stored_status == payment.stored_status == ("authorized" if approve else "rejected")
            assert answer.session == self.session()  # computed from the version read, exactly as stored
        else:
            event("decide refused")  # only a payment whose hold has lapsed may be refused
            assert (refused_with, payment.status_at(self.now, self.session().ended_at)) == ("INVALID_STATE", "expired")

    @rule(
        cents=st.sampled_from([1, 10_00, 35_00, 60_01]),
        manual=st.booleans(),
        minutes=st.sampled_from([1, 120]),
        confirm_now=st.booleans(),
    )
    def create_intent(self, cents: int, manual: bool, minutes: int, confirm_now: bool) -> None:
        request = CreateIntentRequest.model_validate(
            {"amount": 1, "capture_method": "manual" if manual else "automatic", "expires_in_seconds": minutes * 60}
        ).model_copy(update={"amount": cents})
        created = intent_service.create_intent(self.store, OWNER, request, "machine-key" * 4, self.now)
        assert created.client_secret is not None
        self.client_secrets[created.intent.id] = created.client_secret
        if confirm_now:
            self.confirm(created.intent.id)

    @precondition(lambda self: bool(self.client_secrets))
    @rule(data=st.data())
    def confirm_intent(self, data: st.DataObject) -> None:
        self.confirm(data.draw(st.sampled_from(list(self.client_secrets))))

    def confirm(self, intent_id: str) -> None:
        request = ConfirmIntentRequest(client_secret=self.client_secrets[intent_id], customer_wallet="w")
        refused_with = None
        try:
            answer = intent_service.confirm_intent(self.store, self.agent, intent_id, request, None, None, self.now)
        except DomainError as refusal:
            refused_with = refusal.code
        if refused_with is not None:
            note(f"confirm refused: {refused_with}")
            assert refused_with in {"LIMIT_EXCEEDED", "SESSION_REVOKED", "SESSION_EXPIRED", "RATE_LIMITED",
                                    "VELOCITY_LIMIT", "INVALID_STATE"}  # fmt: skip
            return
        note(f"confirmed: {answer.status}")
        assert answer.payment is not None
        assert answer.payment.intent_id == intent_id

    @precondition(lambda self: bool(self.client_secrets))
    @rule(data=st.data(), part=st.sampled_from([None, 1, 10_00]))
    def capture_or_cancel_intent(self, data: st.DataObject, part: int | None) -> None:
        intent_id = data.draw(st.sampled_from(list(self.client_secrets)))
        capture = data.draw(st.booleans())
        refused_with = None
        try:
            if capture:
                answer = intent_service.capture_intent(self.store, OWNER, intent_id, part, self.now)
            else:
                answer = intent_service.cancel_intent(self.store, OWNER, intent_id, self.now)
        except DomainError as refusal:
            refused_with = refusal.code
        if refused_with is not None:
            event(f"{'capture' if capture else 'cancel'} refused: {refused_with}")
            assert refused_with in {"INVALID_STATE", "VALIDATION_ERROR"}
            return
        event(f"intent {answer.status}")

    @rule()
    def settle_decisions(self) -> None:
        """What the outbox does with a decision made by one write to the session: settle it."""
        session = self.session()
        if session.decided_holds:
            note("settled")
        settlement.settle_decisions(self.store, [Change(change_id="c", old=None, new=session, at=self.now)])

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

    def ledger(self, session: SessionRecord) -> list[PaymentRecord]:
        """Every payment as a reader sees it: with a decision its session holds that its item has not yet."""
        self.items = self.client.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]  # intents read them too
        self.stored_ledger = [payment_record(item) for item in self.items if item["type"]["S"] == "payment"]
        return [with_decision_of(payment, session) for payment in self.stored_ledger]

    @invariant()
    def counters_match_the_ledger_and_no_window_exceeds_its_limit(self) -> None:
        session = self.session()
        ledger = self.ledger(session)
        committed, held = counters_of(ledger)
        self.stored_counters_match_the_stored_ledger()
        self.steps += 1
        made_at = {item["pk"]["S"].removeprefix("PAY#"): item["gsi1sk"]["S"] for item in self.items if "gsi1sk" in item}
        pending = [p.id for p in ledger if p.stored_status == "pending_approval"]
        self.pending_ids = sorted(pending, key=made_at.__getitem__)  # the listing key starts with the write time
        assert {k: v for k, v in session.committed_cents.items() if v} == committed
        assert {k: v for k, v in session.held_cents.items() if v} == held
        assert sorted(session.holds) == sorted(self.pending_ids)
        for key, cents in session.committed_cents.items():
            assert 0 <= cents <= self.highest_limit[key[0]]
        for kind in WINDOW_KINDS:
            window = session.window(kind, self.now)
            assert (
                window.spent_cents + window.held_cents <= self.highest_limit[PREFIX_OF_LIMIT[WINDOW_LIMIT_NAME[kind]]]
            )
            assert window.held_cents >= 0
        self.counts_match_the_ledger(session, ledger)
        self.intents_agree_with_their_payments(ledger)

    def stored_counters_match_the_stored_ledger(self) -> None:
        """As stored, before the outbox settles a decision: its hold still counted, its payment still pending."""
        (item,) = (item for item in self.items if item["type"]["S"] == "session")
        stored = from_item(item)
        committed, held = counters_of(self.stored_ledger)
        assert {k: int(v) for k, v in stored.get("committed", {}).items() if v} == committed
        assert {k: int(v) for k, v in stored.get("held", {}).items() if v} == held
        pending = {payment.id for payment in self.stored_ledger if payment.stored_status == "pending_approval"}
        assert set(stored.get("holds", {})) == pending

    def intents_agree_with_their_payments(self, ledger: list[PaymentRecord]) -> None:
        items = self.items  # the scan ledger() just made
        paid_by = {payment.id: payment for payment in ledger}
        for intent in (intent_record(item) for item in items if item["type"]["S"] == "intent"):
            payment = paid_by.get(intent.payment_id or "")
            if intent.stored_status in ("requires_payment",) or intent.payment_id is None:
                assert intent.payment_id is None
                assert intent.stored_status in ("requires_payment", "canceled")
                continue
            assert payment is not None
            assert payment.intent_id == intent.id
            assert payment.amount_cents <= intent.amount_cents
            expected = {"succeeded": {"authorized"}, "processing": {"pending_approval", "expired"},
                        "canceled": {"rejected", "expired"}}  # fmt: skip
            assert payment.stored_status in expected[intent.stored_status], (intent, payment)

    def counts_match_the_ledger(self, session: SessionRecord, ledger: list[PaymentRecord]) -> None:
        """Each stored payment count is the number of payments committed in its window, within its limit."""
        expected: dict[str, int] = {}
        for payment in ledger:
            if payment.stored_status == "declined":
                continue
            for name in VELOCITY_NAMES:
                if name in session.velocity:
                    key = velocity_position(name, session.created_at, payment.created_at).counter_key
                    expected[key] = expected.get(key, 0) + 1
        for key, count in session.payment_counts.items():
            assert count == expected.get(key, 0)
        highest = {"per_minute": self.highest_per_minute, "per_hour": 9}  # a PATCH may lower per_minute
        for state in session.velocity_states(self.now).values():
            assert state.used <= highest[state.name]


def counters_of(ledger: list[PaymentRecord]) -> tuple[dict[str, int], dict[str, int]]:
    """What a ledger's payments commit and hold, per window counter."""
    committed: dict[str, int] = {}
    held: dict[str, int] = {}
    for payment in ledger:
        if payment.stored_status not in ("authorized", "pending_approval"):
            continue
        for key in payment.window_keys:
            committed[key] = committed.get(key, 0) + payment.amount_cents
            if payment.stored_status == "pending_approval":
                held[key] = held.get(key, 0) + payment.amount_cents
    return committed, held


@pytest.fixture(autouse=True, scope="module")
def moto_for_the_module() -> Iterator[None]:
    """One moto for every example; each example recreates the table."""
    with mock_aws():
        dynamo.default_store.cache_clear()
        yield
    dynamo.default_store.cache_clear()


PaymentLedger.TestCase.settings = settings(
    max_examples=int(os.environ.get("STATE_MACHINE_EXAMPLES", "20")),  # more for a long run
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
    payment_decisions.reject_payment(machine.store, OWNER, machine.pending_ids[0], machine.now)  # rejected
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()  # decided, not yet settled
    assert {payment.stored_status for payment in machine.stored_ledger} == {"authorized", "pending_approval"}
    machine.settle_decisions()
    machine.pay(40_00, None)  # pending, then lapses
    machine.advance_clock(61)
    machine.release_lapsed_holds()
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()
    statuses = {payment.stored_status for payment in machine.ledger(machine.session())}
    assert statuses == {payment.stored_status for payment in machine.stored_ledger}
    assert statuses == {"authorized", "rejected", "expired"}


def test_the_machine_reaches_every_intent_outcome() -> None:
    """Not vacuous either: its intent rules confirm, capture part, cancel a hold, and see one lapse."""
    machine = PaymentLedger()
    machine.open_session()
    machine.create_intent(10_00, manual=False, minutes=120, confirm_now=True)  # succeeded
    for _ in range(3):
        machine.create_intent(10_00, manual=True, minutes=120, confirm_now=True)  # processing
    automatic, captured, canceled, lapsing = list(machine.client_secrets)
    intent_service.capture_intent(machine.store, OWNER, captured, 4_00, machine.now)
    intent_service.cancel_intent(machine.store, OWNER, canceled, machine.now)
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()
    machine.advance_clock(61)
    machine.release_lapsed_holds()
    machine.counters_match_the_ledger_and_no_window_exceeds_its_limit()
    shown = {
        intent_id: intent_service.get_intent(machine.store, OWNER, intent_id, "machine-key" * 4, machine.now).status
        for intent_id in (automatic, captured, canceled, lapsing)
    }
    assert list(shown.values()) == ["succeeded", "succeeded", "canceled", "canceled"]
    ledger = machine.ledger(machine.session())
    assert sorted(p.amount_cents for p in ledger if p.stored_status == "authorized") == [4_00, 10_00]
