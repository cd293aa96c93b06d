"""The pure parts of a decision made by one write to the session: the copy a hold keeps, and the
counters a reader sees before the outbox settles it."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.held_decisions import (
    COPY_BUDGET_BYTES,
    copy_from_text,
    copy_text,
    decided_payment,
    hold_of,
    hold_window_keys,
    settled_counters,
    with_decision_of,
)
from agent_sessions.domain.holds import DecidedHold, Hold
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.payment_rules import session_after_hold_ends
from agent_sessions.domain.records import HOLD_LIFETIME, PaymentRecord
from tests.unit.test_records import CREATED, make_session

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | _TEXT | st.decimals(places=2, allow_nan=False,
                                                                                        allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def held_payment(**fields: Any) -> PaymentRecord:
    taken = CREATED + timedelta(hours=2, seconds=7)
    values: dict[str, Any] = {
        "id": "pay_" + "a" * 40,
        "session_id": "sess_" + "a" * 24,
        "account_id": "acct_x",
        "amount_cents": 75_01,
        "currency": "USD",
        "merchant_id": "m",
        "description": "d",
        "metadata": {},
        "stored_status": "pending_approval",
        "created_at": taken,
        "request_fingerprint": None,
        "approval_expires_at": taken + HOLD_LIFETIME,
        **fields,
    }
    return PaymentRecord(**values)


@given(
    description=st.none() | _TEXT,
    merchant=st.none() | _TEXT,
    metadata=st.dictionaries(_TEXT, _JSON, max_size=4),
    early_deadline=st.booleans(),
)
def test_a_copy_reads_back_as_written_and_is_kept_only_within_its_budget(
    description: str | None, merchant: str | None, metadata: dict[str, Any], early_deadline: bool
) -> None:
    taken = CREATED.replace(microsecond=0) + timedelta(minutes=3)
    deadline = taken + (timedelta(minutes=17) if early_deadline else HOLD_LIFETIME)  # the session ends first
    payment = held_payment(
        description=description, merchant_id=merchant, metadata=metadata, created_at=taken, approval_expires_at=deadline
    )
    hold = hold_of(payment)
    assert hold.session_decidable
    fields = [description, merchant, metadata or None, int(deadline.timestamp()) if early_deadline else None]
    while fields and fields[-1] is None:
        fields.pop()
    assert (hold.copy is not None) == (len(encode_json(fields).encode("utf-8")) <= COPY_BUDGET_BYTES)
    if hold.copy is None:
        return
    stored = copy_text(hold.copy, taken)
    assert stored == encode_json(fields)
    back = copy_from_text(json.loads(stored, parse_float=Decimal), taken)
    assert (back.description, back.merchant_id, back.metadata) == (description, merchant, metadata)
    assert back.approval_expires_at == deadline


def test_an_intents_payment_is_never_decided_by_its_session_alone() -> None:
    hold = hold_of(held_payment(intent_id="pi_" + "b" * 24))
    assert (hold.session_decidable, hold.copy) == (False, None)
    assert hold_of(held_payment(description="x" * (COPY_BUDGET_BYTES + 1))).copy is None
    assert hold_of(held_payment(description="x" * (COPY_BUDGET_BYTES + 1))).session_decidable


@given(
    amounts=st.lists(st.integers(1, 500_00), min_size=1, max_size=6),
    hours=st.lists(st.integers(0, 167), min_size=6, max_size=6),
    decisions=st.lists(st.sampled_from(["authorized", "rejected", None]), min_size=6, max_size=6),
)
def test_a_reader_sees_a_decided_hold_as_its_settlement_will_leave_it(
    amounts: list[int], hours: list[int], decisions: list[Any]
) -> None:
    """settled_counters over the stored counters equals ending each decided hold the long way."""
    holds = {
        f"pay_{index:040d}": Hold(amount, CREATED + timedelta(hours=hour), session_decidable=True)
        for index, (amount, hour) in enumerate(zip(amounts, hours, strict=False))
    }
    committed: dict[str, int] = {}
    held: dict[str, int] = {}
    for hold in holds.values():
        for key in hold_window_keys(CREATED, hold):
            committed[key] = committed.get(key, 0) + hold.amount_cents
            held[key] = held.get(key, 0) + hold.amount_cents
    stored = make_session().with_changes(committed_cents=committed, held_cents=held, holds=holds)
    decided = {
        payment_id: DecidedHold(hold, decision, CREATED, None)
        for (payment_id, hold), decision in zip(holds.items(), decisions, strict=False)
        if decision is not None
    }
    long_way = stored
    for payment_id, decided_hold in decided.items():
        released = decided_hold.hold.amount_cents if decided_hold.decision == "rejected" else 0
        keys = hold_window_keys(CREATED, decided_hold.hold)
        long_way = session_after_hold_ends(long_way, payment_id, decided_hold.hold.amount_cents, keys, released)
    assert settled_counters(CREATED, committed, held, decided) == (long_way.committed_cents, long_way.held_cents)


def test_a_payment_shows_the_decision_its_session_holds() -> None:
    payment = held_payment(metadata={"order": "A-1"})
    hold = hold_of(payment)
    decided_at = payment.created_at + timedelta(minutes=2)
    stored = make_session().with_changes(
        id=payment.session_id, decided_holds={payment.id: DecidedHold(hold, "rejected", decided_at, "k")}
    )
    shown = with_decision_of(payment, stored)
    assert (shown.stored_status, shown.decided_at, shown.decision_key) == ("rejected", decided_at, "k")
    assert with_decision_of(shown.with_changes(stored_status="expired"), stored).stored_status == "expired"
    rebuilt = decided_payment(stored, payment.id)
    assert rebuilt is not None
    assert rebuilt.with_changes(account_id=payment.account_id, agent_id=None) == shown.with_changes(
        window_keys=rebuilt.window_keys, agent_id=None
    )
    assert decided_payment(stored, "pay_" + "c" * 40) is None
