"""Approve and reject as one write to the payment's session, then settled by the outbox.

A plain payment's hold keeps what the decision's answer needs (domain/held_decisions.py), so the
decision is one UpdateItem whose new image is the session with its exact remaining amounts. Until
the outbox settles it, every reader sees the hold settled already: the payment path, the sweep,
a read of the payment. These tests draw amounts with cents, payments before and between, keys and
payments too large to keep, and check each answer against what a read shows after settlement.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal import dynamo
from agent_sessions.dal.decision_ports import HoldNotDecided
from agent_sessions.domain.errors import IdempotencyKeyReused, InvalidState, NotFound
from agent_sessions.domain.held_decisions import COPY_BUDGET_BYTES
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import MAX_PENDING_APPROVALS, Caller, SessionRecord, format_timestamp, utc_now
from agent_sessions.logic import expiry, payment_decisions, settlement
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.logic.outbox import Change
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from agent_sessions.wire.views import payment_body
from agent_sessions_local.item_size import item_bytes
from tests.conftest import TABLE_NAME, dynamodb_requests

OWNER = Caller(kind="api_key", account_id="acct_decisionsonsession0000")
STRANGER = Caller(kind="api_key", account_id="acct_someotheraccount000000")
LIMITS = {"max_per_transaction": 500, "max_per_day": 1000, "max_per_week": 5000, "max_per_month": 9000}
_CENTS = st.integers(1, 4_999).map(lambda cents: Decimal(cents) / 100)
_HELD = st.integers(50_01, 499_99).map(lambda cents: Decimal(cents) / 100)
_SMALL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_SMALL_METADATA = st.dictionaries(st.sampled_from(["order", "sku", "n"]), st.integers(0, 999) | _SMALL_TEXT, max_size=2)


def _session(store: Any, now: datetime, **limits: Any) -> tuple[SessionRecord, Caller]:
    request = CreateSessionRequest.model_validate(
        {"agent_id": "bot", "user_wallet": "w", "limits": {**LIMITS, "require_approval_above": 50, **limits}}
    )
    created = service.create_session(store, OWNER, request, now)
    agent = service.authenticate(store, f"Bearer {created.session_token}")
    assert agent is not None
    return created.session, agent


def _pay(store: Any, agent: Caller, amount: Decimal, now: datetime, **fields: Any) -> Any:
    request = CreatePaymentRequest.model_validate({"amount": amount, **fields})
    return payment_service.create_payment(store, agent, request, None, now).answer


def _decide(
    store: Any, verb: str, payment_id: str, now: datetime, key: str | None = None, caller: Caller = OWNER
) -> Any:
    decide = payment_decisions.approve_payment if verb == "approve" else payment_decisions.reject_payment
    return decide(store, caller, payment_id, now, key)


def _settle(store: dynamo.DynamoStore, session: SessionRecord) -> int:
    """What the outbox does with the decision's stream record (its new image is `session`)."""
    return settlement.settle_decisions(store, [Change(change_id="c", old=None, new=session, at=session.created_at)])


def _read(store: Any, payment_id: str, now: datetime) -> dict[str, Any]:
    answer = payment_decisions.get_payment(store, OWNER, payment_id, now)
    return payment_body(answer.payment, answer.session, now)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    verb=st.sampled_from(["approve", "reject"]),
    held=_HELD,
    before=st.lists(_CENTS, max_size=3),
    description=st.none() | _SMALL_TEXT,
    metadata=_SMALL_METADATA,
    too_large=st.booleans(),
)
def test_a_decision_is_one_update_and_answers_what_a_read_shows_after_settlement(
    session_store: dynamo.DynamoStore,
    verb: str,
    held: Decimal,
    before: list[Decimal],
    description: str | None,
    metadata: dict[str, Any],
    too_large: bool,
) -> None:
    now = utc_now()
    session, agent = _session(session_store, now)
    for amount in before:
        _pay(session_store, agent, amount, now)
    if too_large:  # more than the session's item keeps: the answer reads the payment's own item too
        description = "x" * 300
    fields = {"description": description, "metadata": metadata, "merchant_id": "merchant_amazon"}
    copy = encode_json([description, "merchant_amazon", metadata or None])  # as the hold keeps it (ASCII)
    too_large = len(copy) > COPY_BUDGET_BYTES  # drawn text escapes to 6 or 12 bytes a character
    pending = _pay(session_store, agent, held, now, **fields)
    assert pending.payment.stored_status == "pending_approval"

    at = now + timedelta(seconds=30)
    with dynamodb_requests() as sent:
        decided = _decide(session_store, verb, pending.payment.id, at, key="k-1")
    assert sent == (["UpdateItem", "GetItem"] if too_large else ["UpdateItem"])
    answer = payment_body(decided.payment, decided.session, at)
    spent = sum(before, Decimal(0)) + (held if verb == "approve" else 0)
    assert answer["status"] == ("authorized" if verb == "approve" else "rejected")
    assert Decimal(str(answer["remaining_today"])) == 1000 - spent  # exact, from the write's new image
    assert (answer["amount"], answer["description"], answer["metadata"]) == (held, description, metadata)
    assert answer["decided_at"] is not None
    assert _read(session_store, pending.payment.id, at) == answer  # before settlement: the session says so

    assert _settle(session_store, decided.session) == 1
    assert _settle(session_store, decided.session) == 0  # a redelivered record settles nothing twice
    assert _read(session_store, pending.payment.id, at) == answer  # after: the payment's own item says so
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert (stored.holds, stored.decided_holds) == ({}, {})
    assert (stored.committed_cents, stored.held_cents) == (decided.session.committed_cents, decided.session.held_cents)
    payment = session_store.get_payment(pending.payment.id)
    assert payment is not None
    assert (payment.stored_status, payment.decision_key) == (
        decided.payment.stored_status,
        decided.payment.decision_key,
    )


def test_a_retry_before_settlement_is_answered_from_the_session_sent_back(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    _, agent = _session(session_store, now)
    payment_id = _pay(session_store, agent, Decimal("75.25"), now).payment.id
    first = _decide(session_store, "approve", payment_id, now, key="the-key")
    with dynamodb_requests() as sent:
        again = _decide(session_store, "approve", payment_id, now, key="the-key")
    assert sent == ["UpdateItem"]  # refused, with the session as it stood: the decision is on it
    assert payment_body(again.payment, again.session, now) == payment_body(first.payment, first.session, now)
    with pytest.raises(IdempotencyKeyReused):
        _decide(session_store, "reject", payment_id, now, key="the-key")
    for key in (None, "another-key"):
        with pytest.raises(InvalidState) as refused:
            _decide(session_store, "reject", payment_id, now, key=key)
        assert refused.value.details == {"status": "authorized"}


def test_a_rejection_waiting_to_be_settled_leaves_its_room_to_the_next_payment(
    session_store: dynamo.DynamoStore,
) -> None:
    """The session's counters still hold the rejected amount; the payment that needs it is refused by
    its write, settles the rejection and is tried again, as it does after a lapsed hold."""
    now = utc_now()
    session, agent = _session(session_store, now, max_per_day=100)
    payment_id = _pay(session_store, agent, Decimal("60.01"), now).payment.id
    rejected = _decide(session_store, "reject", payment_id, now)
    assert payment_body(rejected.payment, rejected.session, now)["remaining_today"] == 100
    paid = _pay(session_store, agent, Decimal("45.67"), now)  # fits only once the 60.01 is released
    assert paid.payment.stored_status == "authorized"
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert stored.decided_holds == {}  # settled by the payment that needed it
    assert stored.committed_cents == {key: 45_67 for key in paid.payment.window_keys}
    assert session_store.get_payment(payment_id).stored_status == "rejected"  # type: ignore[union-attr]


def test_decided_holds_count_towards_the_most_waiting_until_settled(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    session, agent = _session(session_store, now, max_per_day=9000, max_per_week=9000)
    held = [_pay(session_store, agent, Decimal("50.01"), now).payment.id for _ in range(MAX_PENDING_APPROVALS)]
    for payment_id in held[:3]:
        _decide(session_store, "approve", payment_id, now)
    another = _pay(session_store, agent, Decimal("50.02"), now)  # the write settles the three to make room
    assert another.payment.stored_status == "pending_approval"
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert (len(stored.holds), stored.decided_holds) == (MAX_PENDING_APPROVALS - 2, {})


def test_the_sweep_never_lapses_a_decided_hold(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    session, agent = _session(session_store, now)
    payment_id = _pay(session_store, agent, Decimal("70.70"), now).payment.id
    decided = _decide(session_store, "approve", payment_id, now + timedelta(minutes=1))
    later = now + timedelta(hours=2)
    assert _read(session_store, payment_id, later)["status"] == "authorized"  # not settled: the session says so
    # Its deadline has passed and its item still says pending: the sweep cannot lapse it, and
    # settles it instead (as if the outbox had failed for good).
    result = expiry.sweep(session_store, later)
    assert (result.holds_lapsed, result.decisions_settled) == (0, 1)
    assert _settle(session_store, decided.session) == 0  # the outbox, late: nothing left to do
    assert expiry.sweep(session_store, later).items_due == 0  # off the due index
    assert _read(session_store, payment_id, later)["status"] == "authorized"
    assert session_store.get_payment(payment_id).stored_status == "authorized"  # type: ignore[union-attr]
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert stored.window("day", now).spent_cents == 70_70


def test_a_hold_past_its_deadline_is_not_decided(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    _, agent = _session(session_store, now)
    payment_id = _pay(session_store, agent, Decimal("51.00"), now).payment.id
    with pytest.raises(InvalidState) as refused:
        _decide(session_store, "approve", payment_id, now + timedelta(minutes=61))
    assert refused.value.details == {"status": "expired"}


def test_another_accounts_key_decides_nothing(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    session, agent = _session(session_store, now)
    payment_id = _pay(session_store, agent, Decimal("51.00"), now).payment.id
    for verb in ("approve", "reject"):
        with pytest.raises(NotFound):
            _decide(session_store, verb, payment_id, now, caller=STRANGER)
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert (list(stored.holds), stored.decided_holds) == ([payment_id], {})


def test_a_hold_kept_before_holds_kept_copies_is_decided_the_long_way(
    session_store: dynamo.DynamoStore, dynamodb: Any
) -> None:
    now = utc_now()
    session, agent = _session(session_store, now)
    payment_id = _pay(session_store, agent, Decimal("51.49"), now).payment.id
    dynamodb.update_item(  # as a hold was stored before: amount and time only
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"SESS#{session.id}"}},
        UpdateExpression="REMOVE holds.#payment.c",
        ExpressionAttributeNames={"#payment": payment_id},
    )
    with dynamodb_requests() as sent:
        decided = _decide(session_store, "reject", payment_id, now)
    assert sent == ["UpdateItem", "TransactGetItems", "TransactWriteItems"]
    assert payment_body(decided.payment, decided.session, now)["remaining_today"] == 1000
    assert session_store.get_payment(payment_id).stored_status == "rejected"  # type: ignore[union-attr]


def test_what_a_hold_and_its_decision_add_to_the_session_item(session_store: dynamo.DynamoStore, dynamodb: Any) -> None:
    """A hold adds its amount, its time and its copy; the decision its outcome, time and key's digest;
    the settlement takes both away again. For the events/ session with a payment like the SDK's
    example, the item stays under 1 KB while the payment waits (4 write units per payment)."""
    now = utc_now()
    request = CreateSessionRequest.model_validate(
        {
            "agent_id": "shopping-assistant-v2",
            "user_wallet": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
            "limits": {**LIMITS, "require_approval_above": 50},
            "allowed_merchants": ["merchant_amazon", "merchant_walmart"],
            "metadata": {"team": "checkout", "cost_center": "cc-4411"},
        }
    )
    created = service.create_session(session_store, OWNER, request, now)
    agent = service.authenticate(session_store, f"Bearer {created.session_token}")
    assert agent is not None
    key = {"pk": {"S": f"SESS#{created.session.id}"}}

    def size() -> int:
        return item_bytes(dynamodb.get_item(TableName=TABLE_NAME, Key=key)["Item"])

    _pay(session_store, agent, Decimal("10.01"), now, merchant_id="merchant_amazon")
    before = size()
    fields = {"merchant_id": "merchant_amazon", "description": "GPU hours", "metadata": {"order": "A-1042"}}
    payment_id = _pay(session_store, agent, Decimal("75.50"), now, **fields).payment.id
    held = size()
    decided = _decide(session_store, "approve", payment_id, now, key="a-key-the-sdk-made-0123456789")
    on_decision = size()
    _settle(session_store, decided.session)
    settled = size()
    copy = len('["GPU hours","merchant_amazon",{"order":"A-1042"}]')
    # the hold: its id, amount, time and copy, and the held counters (the last payment's mark grows by 6)
    assert held - before <= len(payment_id) + copy + 80, (before, held)
    # the decision: its outcome, time and the key's digest (32)
    assert on_decision - held <= len("authorized") + 32 + 40, (held, on_decision)
    # gone again, but for the held counters, now at 0 (4 + 3 * 4 bytes), as after a decision the long way
    assert settled <= before + 16, (before, settled)
    assert held < 1024, held


def test_the_write_is_one_dynamodb_accepts(moto_or_dynalite: Any) -> None:
    """The decision's UpdateItem on moto and on dynalite (an independent implementation): a hold put
    by hand is decided, and a second decision is refused (with the session on moto; dynalite sends
    nothing back)."""
    dynamodb = moto_or_dynalite
    on_moto = "127.0.0.1" not in str(dynamodb.meta.endpoint_url)
    store = dynamo.default_store()
    now = utc_now()
    session, _ = _session(store, now)
    payment_id = "pay_" + session.id.removeprefix("sess_") + "a" * 16
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"SESS#{session.id}"}},
        UpdateExpression="SET holds = :holds, held = :counts, #committed = :counts",
        ExpressionAttributeNames={"#committed": "committed"},
        ExpressionAttributeValues={
            ":holds": {
                "M": {
                    payment_id: {
                        "M": {"a": {"N": "5101"}, "t": {"N": str(int(now.timestamp()))}, "c": {"S": '["d","m"]'}}
                    }
                }
            },
            ":counts": {"M": {"d0": {"N": "5101"}, "w0": {"N": "5101"}, "m0": {"N": "5101"}}},
        },
    )
    other = store.decide_on_session(session.id, payment_id, STRANGER.account_id, "rejected", now, None)
    assert isinstance(other, HoldNotDecided)
    after = store.decide_on_session(session.id, payment_id, OWNER.account_id, "rejected", now, "kd")
    assert isinstance(after, SessionRecord)
    assert after.decided_holds[payment_id].decision_key == "kd"
    assert (after.holds, after.window("day", now).remaining_cents) == ({}, 1000_00)
    again = store.decide_on_session(session.id, payment_id, OWNER.account_id, "authorized", now, None)
    assert isinstance(again, HoldNotDecided)
    if on_moto:
        assert again.session is not None
        assert payment_id in again.session.decided_holds
    else:
        assert again.session is None


def test_the_outbox_settles_each_decision_once_and_announces_it_with_its_time(
    invoke: Any, dynamodb: Any, session_store: dynamo.DynamoStore, bus_queue: Any
) -> None:
    from tests.integration.test_window_alerts import Pipeline

    pipeline = Pipeline(invoke, dynamodb, session_store, bus_queue)
    now = utc_now()
    session, agent = _session(session_store, now)
    approve = _pay(session_store, agent, Decimal("61.10"), now, description="GPU hours").payment.id
    reject = _pay(session_store, agent, Decimal("72.20"), now).payment.id
    answers = {
        approve: _decide(session_store, "approve", approve, now, key="k-a"),
        reject: _decide(session_store, "reject", reject, now),
    }
    pipeline.pump()
    pipeline.redeliver_everything()
    for payment_id, answer in answers.items():
        body = payment_body(answer.payment, answer.session, now)
        name = "agent.payment.approved" if payment_id == approve else "agent.payment.rejected"
        events = [event for event in pipeline.named(name) if event["data"]["id"] == payment_id]
        assert len({event["id"] for event in events}) == 1  # redelivered with the same id: receivers drop it
        announced = events[0]["data"]
        shown = ("status", "decided_at", "description")
        assert {k: announced[k] for k in shown} == {k: body[k] for k in shown}
        assert Decimal(str(announced["amount"])) == body["amount"]
        stored = session_store.get_payment(payment_id)
        assert stored is not None
        assert stored.decided_at is not None
        assert (stored.stored_status, format_timestamp(stored.decided_at)) == (body["status"], body["decided_at"])
    stored_session = session_store.get_session(session.id)
    assert stored_session is not None
    assert (stored_session.holds, stored_session.decided_holds) == ({}, {})
    assert stored_session.committed_cents == {key: 61_10 for key in answers[approve].payment.window_keys}
    assert stored_session.held_cents == {key: 0 for key in answers[approve].payment.window_keys}
