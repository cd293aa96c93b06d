from datetime import timedelta
from decimal import Decimal

from agent_sessions.domain.payment_rules import (
    approval_deadline,
    needs_approval,
    refusal_for,
    window_checks,
)
from agent_sessions.domain.records import Hold
from tests.unit.test_records import CREATED, make_payment, make_session


def test_window_checks_name_the_current_counters_and_the_room_each_needs() -> None:
    terms = make_session().terms
    checks = window_checks(terms, 30_00, CREATED + timedelta(hours=25))
    assert [(c.kind, c.counter_key, c.max_committed_before_cents) for c in checks] == [
        ("day", "d1", 200_00 - 30_00),
        ("week", "w0", 20_000_00 - 30_00),
        ("month", "m0", 50_000_00 - 30_00),
    ]


def test_approval_is_needed_strictly_above_the_threshold_and_lapses_by_the_sessions_end() -> None:
    terms = make_session().terms  # require_approval_above 500.00, ends after 24 h
    assert not needs_approval(terms, 500_00)
    assert needs_approval(terms, 500_01)
    assert approval_deadline(terms, CREATED) == CREATED + timedelta(hours=1)
    assert approval_deadline(terms, CREATED + timedelta(hours=23, minutes=30)) == CREATED + timedelta(hours=24)


def test_the_refusal_names_the_first_rule_that_fails() -> None:
    now = CREATED + timedelta(hours=1)
    session = make_session(allowed_merchants=["m1"], committed_cents={"d0": 190_00, "w0": 190_00, "m0": 190_00})
    assert refusal_for(session, make_payment(amount_cents=5_00, merchant_id="m1"), now) is None

    over_day = refusal_for(session, make_payment(amount_cents=20_00, merchant_id="m1"), now)
    assert over_day is not None
    assert (over_day.code, over_day.details["limit"], over_day.details["remaining"]) == (
        "LIMIT_EXCEEDED",
        "max_per_day",
        Decimal("10.00"),
    )
    assert over_day.details["resets_at"] == "2026-11-25T10:00:00Z"

    elsewhere = refusal_for(session, make_payment(amount_cents=1_00, merchant_id="m2"), now)
    assert elsewhere is not None
    assert elsewhere.code == "MERCHANT_NOT_ALLOWED"

    too_big = refusal_for(session, make_payment(amount_cents=1_000_01, merchant_id="m2"), now)
    assert too_big is not None
    assert (too_big.code, too_big.details["limit"]) == ("LIMIT_EXCEEDED", "max_per_transaction")

    revoked = session.with_changes(stored_status="revoked", revoked_at=now)
    refusal = refusal_for(revoked, make_payment(amount_cents=1_000_01), now)
    assert refusal is not None
    assert refusal.code == "SESSION_REVOKED"
    ended = refusal_for(session, make_payment(amount_cents=1_00, merchant_id="m1"), CREATED + timedelta(hours=24))
    assert ended is not None
    assert ended.code == "SESSION_EXPIRED"


def test_a_lapsed_hold_no_longer_refuses_a_payment() -> None:
    session = make_session(
        committed_cents={"d0": 200_00, "w0": 200_00, "m0": 200_00},
        held_cents={"d0": 200_00, "w0": 200_00, "m0": 200_00},
        holds={"pay_old": Hold(amount_cents=200_00, taken_at=CREATED)},
    )
    payment = make_payment(amount_cents=50_00, approval_expires_at=None, stored_status="authorized")
    assert refusal_for(session, payment, CREATED + timedelta(minutes=59)) is not None
    assert refusal_for(session, payment, CREATED + timedelta(minutes=60)) is None


def test_remaining_is_the_largest_amount_that_would_pass_now() -> None:
    now = CREATED + timedelta(hours=1)
    limits = {**make_session().limits_cents, "max_per_transaction": 50_00, "max_per_day": 200_00}
    session = make_session(limits_cents=limits, committed_cents={"d0": 190_00, "w0": 190_00, "m0": 190_00})
    over_transaction = refusal_for(session, make_payment(amount_cents=60_00), now)
    assert over_transaction is not None
    assert (over_transaction.details["limit"], over_transaction.details["remaining"]) == (
        "max_per_transaction",
        Decimal("10.00"),
    )
    over_day = refusal_for(session, make_payment(amount_cents=20_00), now)
    assert over_day is not None
    assert over_day.details["remaining"] == Decimal("10.00")
    roomy = make_session(limits_cents=limits)
    over = refusal_for(roomy, make_payment(amount_cents=60_00), now)
    assert over is not None
    assert over.details["remaining"] == Decimal(50)


def test_a_missing_merchant_on_a_whitelisted_session_is_said_in_words() -> None:
    session = make_session(allowed_merchants=["m1"])
    refusal = refusal_for(session, make_payment(amount_cents=1_00, merchant_id=None), CREATED)
    assert refusal is not None
    assert refusal.code == "MERCHANT_NOT_ALLOWED"
    assert "named none" in refusal.message
    assert "None" not in refusal.message
