from datetime import UTC, datetime, timedelta

from agent_sessions.domain.records import DEFAULT_LIMITS_CENTS, Hold, PaymentRecord, SessionRecord

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
