from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.windows import (
    WINDOW_KINDS,
    WINDOW_LENGTH,
    WindowKind,
    counter_key,
    current_counter_key,
    window_position,
)

CREATED = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


def test_day_zero_runs_until_twenty_four_hours_after_creation() -> None:
    just_before = window_position("day", CREATED, CREATED + timedelta(hours=23, minutes=59, seconds=59))
    assert just_before.index == 0
    assert just_before.resets_at == CREATED + timedelta(hours=24)


def test_the_day_rolls_over_exactly_at_the_anchor_not_at_midnight() -> None:
    at_boundary = window_position("day", CREATED, CREATED + timedelta(hours=24))
    assert at_boundary.index == 1
    assert at_boundary.starts_at == CREATED + timedelta(hours=24)
    assert at_boundary.counter_key == "d1"


def test_weeks_are_seven_days_and_months_thirty_days() -> None:
    assert window_position("week", CREATED, CREATED + timedelta(days=7)).index == 1
    assert window_position("month", CREATED, CREATED + timedelta(days=29, hours=23)).index == 0
    assert window_position("month", CREATED, CREATED + timedelta(days=30)).index == 1


def test_counter_keys_name_kind_and_index() -> None:
    assert [counter_key(kind, 3) for kind in WINDOW_KINDS] == ["d3", "w3", "m3"]


@given(st.sampled_from(WINDOW_KINDS), st.integers(min_value=0, max_value=200 * 24 * 3600))
def test_now_always_lies_inside_its_window(kind: str, seconds: int) -> None:
    now = CREATED + timedelta(seconds=seconds)
    position = window_position(kind, CREATED, now)  # type: ignore[arg-type]
    assert position.starts_at <= now < position.resets_at
    assert position.resets_at - position.starts_at == WINDOW_LENGTH[kind]  # type: ignore[index]
    assert position.starts_at == CREATED + position.index * WINDOW_LENGTH[kind]  # type: ignore[index]


@given(
    st.sampled_from(WINDOW_KINDS),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=400)),
)
def test_current_counter_key_is_the_window_positions(kind: WindowKind, created_at: datetime, since: timedelta) -> None:
    now = created_at + since
    assert current_counter_key(kind, created_at, now) == window_position(kind, created_at, now).counter_key
