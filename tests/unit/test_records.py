from datetime import UTC, datetime, timedelta

from agent_sessions.records import DEFAULT_LIMITS_CENTS, SessionRecord

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
    session = make_session(spent_cents={"d0": 15000, "w0": 15000, "m0": 15000}, held_cents={"d0": 5000})
    assert session.window("day", CREATED).remaining_cents == 0
    assert session.status_at(CREATED + timedelta(hours=1)) == "paused"
    assert session.is_active_at(CREATED + timedelta(hours=1))
    later = make_session(expires_at=CREATED + timedelta(hours=48), spent_cents={"d0": 20000, "w0": 20000, "m0": 20000})
    assert later.status_at(CREATED + timedelta(hours=25)) == "active"
    assert later.window("day", CREATED + timedelta(hours=25)).remaining_cents == 20000


def test_remaining_never_goes_below_zero() -> None:
    session = make_session(spent_cents={"d0": 30000})
    assert session.window("day", CREATED).remaining_cents == 0
