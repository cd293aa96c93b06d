import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions.domain.records import (
    DEFAULT_LIMITS_CENTS,
    Caller,
    Decline,
    Hold,
    PaymentChange,
    PaymentRecord,
    SessionRecord,
    SessionTerms,
    VelocityState,
    WindowState,
    format_timestamp,
    parse_timestamp,
)

CREATED = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


def make_session(**changes: object) -> SessionRecord:
    session = SessionRecord(
        id="sess_aaaaaaaaaaaaaaaaaaaaaaaa",
        account_id="acct_x",
        agent_id="bot",
        agent_name=None,
        user_wallet="w",
        limits_cents={**DEFAULT_LIMITS_CENTS, "max_per_day": 20000},
        allowed_merchants=None,
        stored_status="active",
        created_at=CREATED,
        expires_at=CREATED + timedelta(hours=24),
        token_hash="0" * 64,
    )
    return session.with_changes(**changes)


def test_a_session_past_expires_at_reads_as_expired_without_any_job() -> None:
    session = make_session()
    assert session.status_at(CREATED + timedelta(hours=23)) == "active"
    assert session.status_at(CREATED + timedelta(hours=24)) == "expired"
    assert not session.is_active_at(CREATED + timedelta(hours=24))


def test_revoked_wins_over_everything() -> None:
    session = make_session(stored_status="revoked", revoked_at=CREATED)
    assert session.status_at(CREATED) == "revoked"
    assert not session.is_active_at(CREATED)


def test_a_used_up_day_pauses_until_it_resets() -> None:
    session = make_session(committed_cents={"d0": 20000, "w0": 20000, "m0": 20000}, held_cents={"d0": 5000})
    assert session.window("day", CREATED).remaining_cents == 0
    assert session.status_at(CREATED + timedelta(hours=1)) == "paused"
    assert session.is_active_at(CREATED + timedelta(hours=1))
    later = make_session(
        expires_at=CREATED + timedelta(hours=48), committed_cents={"d0": 20000, "w0": 20000, "m0": 20000}
    )
    assert later.status_at(CREATED + timedelta(hours=25)) == "active"
    assert later.window("day", CREATED + timedelta(hours=25)).remaining_cents == 20000


def test_remaining_never_goes_below_zero() -> None:
    session = make_session(committed_cents={"d0": 30000})
    assert session.window("day", CREATED).remaining_cents == 0


def test_a_hold_counts_until_it_lapses_an_hour_later_even_before_any_job_releases_it() -> None:
    taken = CREATED + timedelta(minutes=10)
    session = make_session(
        committed_cents={"d0": 8000, "w0": 8000, "m0": 8000},
        held_cents={"d0": 3000, "w0": 3000, "m0": 3000},
        holds={"pay_held": Hold(amount_cents=3000, taken_at=taken)},
    )
    before = session.window("day", taken + timedelta(minutes=59))
    assert (before.spent_cents, before.held_cents, before.remaining_cents) == (5000, 3000, 12000)
    after = session.window("day", taken + timedelta(minutes=60))
    assert (after.spent_cents, after.held_cents, after.remaining_cents) == (5000, 0, 15000)
    assert session.lapsed_holds(taken + timedelta(minutes=60)) == {"pay_held": Hold(3000, taken)}


def test_a_hold_lapses_when_the_session_is_revoked_or_ends_first() -> None:
    taken = CREATED + timedelta(hours=23, minutes=30)
    hold = Hold(amount_cents=100, taken_at=taken)
    ending = make_session(holds={"p": hold})
    assert ending.hold_lapses_at(hold) == CREATED + timedelta(hours=24)
    revoked = make_session(holds={"p": hold}, stored_status="revoked", revoked_at=taken + timedelta(minutes=1))
    assert revoked.hold_lapses_at(hold) == taken + timedelta(minutes=1)


def test_a_hold_taken_yesterday_does_not_count_in_todays_window() -> None:
    taken = CREATED + timedelta(hours=23, minutes=30)
    session = make_session(
        expires_at=CREATED + timedelta(hours=72),
        committed_cents={"d0": 1000, "w0": 1000, "m0": 1000},
        held_cents={"d0": 1000, "w0": 1000, "m0": 1000},
        holds={"p": Hold(amount_cents=1000, taken_at=taken)},
    )
    now = CREATED + timedelta(hours=24, minutes=10)  # day 1; the hold (day 0) still lives
    assert session.window("day", now).held_cents == 0
    assert session.window("week", now).held_cents == 1000


def make_payment(**changes: object) -> PaymentRecord:
    payment = PaymentRecord(
        id="pay_aaaaaaaaaaaaaaaaaaaaaaaa",
        session_id="sess_aaaaaaaaaaaaaaaaaaaaaaaa",
        account_id="acct_x",
        amount_cents=3000,
        currency="USD",
        merchant_id=None,
        description=None,
        metadata={},
        stored_status="pending_approval",
        created_at=CREATED,
        request_fingerprint="f" * 64,
        approval_expires_at=CREATED + timedelta(hours=1),
    )
    return payment.with_changes(**changes)


def test_a_pending_payment_reads_as_expired_after_its_deadline_or_its_sessions_end() -> None:
    payment = make_payment()
    assert payment.status_at(CREATED + timedelta(minutes=59)) == "pending_approval"
    assert payment.status_at(CREATED + timedelta(minutes=60)) == "expired"
    assert payment.status_at(CREATED + timedelta(minutes=5), CREATED + timedelta(minutes=5)) == "expired"
    assert payment.first_status == "pending_approval"
    decided = payment.with_changes(stored_status="authorized", decided_at=CREATED)
    assert decided.status_at(CREATED + timedelta(hours=5)) == "authorized"
    assert decided.first_status == "pending_approval"
    assert make_payment(approval_expires_at=None, stored_status="authorized").first_status == "authorized"


# ---- copy_with and format_timestamp: the fast forms hold to what they replace ----------------------

RECORD_TYPES = [
    Caller,
    SessionTerms,
    VelocityState,
    Hold,
    WindowState,
    PaymentChange,
    SessionRecord,
    Decline,
    PaymentRecord,
]
RECORD_FIELDS = {field.name for kind in (SessionRecord, PaymentRecord) for field in dataclasses.fields(kind)}


def make_payment_record() -> PaymentRecord:
    return PaymentRecord(
        id="pay_x",
        session_id="sess_aaaaaaaaaaaaaaaaaaaaaaaa",
        account_id="acct_x",
        amount_cents=1234,
        currency="USD",
        merchant_id="m",
        description=None,
        metadata={"a": [1, 2]},
        stored_status="pending_approval",
        created_at=CREATED,
        request_fingerprint="f",
    )


@pytest.mark.parametrize("kind", RECORD_TYPES, ids=lambda kind: kind.__name__)
def test_every_record_type_is_one_copy_with_may_copy(kind: type) -> None:
    """copy_with skips __init__: right only while every field is set by it and nothing runs after."""
    assert dataclasses.is_dataclass(kind)
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert not hasattr(kind, "__post_init__")
    assert all(field.init for field in dataclasses.fields(kind))
    assert not hasattr(kind, "__slots__")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_with_changes_is_dataclasses_replace(data: st.DataObject) -> None:
    record = data.draw(st.sampled_from([make_session(), make_payment_record()]))
    names = [field.name for field in dataclasses.fields(record)]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=6))
    values = st.one_of(
        st.none(), st.integers(), st.text(max_size=5), st.dictionaries(st.text(max_size=3), st.integers())
    )
    changes = {name: data.draw(values) for name in chosen}
    copied = record.with_changes(**changes)
    expected = dataclasses.replace(record, **changes)
    assert type(copied) is type(expected)
    assert {f.name: getattr(copied, f.name) for f in dataclasses.fields(record)} == {
        f.name: getattr(expected, f.name) for f in dataclasses.fields(record)
    }
    assert copied == expected
    assert copied is not record
    for name in names:
        if name not in changes:
            assert getattr(copied, name) is getattr(record, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.id = "other"  # type: ignore[misc]


@given(name=st.text(min_size=1, max_size=12).filter(lambda name: name not in RECORD_FIELDS))
def test_a_change_to_a_field_that_does_not_exist_is_refused_as_replace_refuses_it(name: str) -> None:
    with pytest.raises(TypeError):
        make_payment_record().with_changes(**{name: 1})
    with pytest.raises(TypeError):
        make_session().with_changes(**{name: 1})


@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()),
)
def test_format_timestamp_is_the_strftime_form_for_any_zone(moment: datetime) -> None:
    assert format_timestamp(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_timestamp(format_timestamp(moment)) == moment.astimezone(UTC).replace(microsecond=0)
