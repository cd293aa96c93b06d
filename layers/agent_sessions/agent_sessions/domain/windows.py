"""Spending windows anchored to a session's created_at.

Day k is [created_at + k*24h, created_at + (k+1)*24h); weeks are 7*24h and months 30*24h.
Counters are kept per window index (``d3`` is day 3), so a roll-over needs no branch: the
first payment of a new window simply writes a counter that did not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

WindowKind = Literal["day", "week", "month"]

WINDOW_KINDS: tuple[WindowKind, ...] = ("day", "week", "month")
WINDOW_LENGTH: dict[WindowKind, timedelta] = {
    "day": timedelta(hours=24),
    "week": timedelta(hours=7 * 24),
    "month": timedelta(hours=30 * 24),
}
WindowLimitName = Literal["max_per_day", "max_per_week", "max_per_month"]
# The limit that caps each window, and the prefix of its counters.
WINDOW_LIMIT_NAME: dict[WindowKind, WindowLimitName] = {
    "day": "max_per_day",
    "week": "max_per_week",
    "month": "max_per_month",
}
_COUNTER_PREFIX: dict[WindowKind, str] = {"day": "d", "week": "w", "month": "m"}


@dataclass(frozen=True)
class WindowPosition:
    """Which window of a kind `now` falls in, and when it started and resets."""

    kind: WindowKind
    index: int
    starts_at: datetime
    resets_at: datetime

    @property
    def counter_key(self) -> str:
        """The name of this window's counter in the session's spent/held maps."""
        return counter_key(self.kind, self.index)


def counter_key(kind: WindowKind, index: int) -> str:
    """`d3` for day 3, `w0` for week 0, `m1` for month 1."""
    return f"{_COUNTER_PREFIX[kind]}{index}"


def window_position(kind: WindowKind, created_at: datetime, now: datetime) -> WindowPosition:
    """The window of `kind` containing `now`; before created_at it is window 0."""
    length = WINDOW_LENGTH[kind]
    index = _window_index(kind, created_at, now)
    starts_at = created_at + index * length
    return WindowPosition(kind=kind, index=index, starts_at=starts_at, resets_at=starts_at + length)


def current_counter_key(kind: WindowKind, created_at: datetime, now: datetime) -> str:
    """window_position(kind, created_at, now).counter_key, without working out when the window starts
    and resets (every payment names its three counters)."""
    return counter_key(kind, _window_index(kind, created_at, now))


def _window_index(kind: WindowKind, created_at: datetime, now: datetime) -> int:
    return max(0, (now - created_at) // WINDOW_LENGTH[kind])


# Velocity: how many payments a session may make per minute, per hour and per day. Counted per
# window index like the amounts (`n12` is minute 12, `h3` hour 3, `c1` day 1), and only when set.
VelocityName = Literal["per_minute", "per_hour", "per_day"]
VELOCITY_NAMES: tuple[VelocityName, ...] = ("per_minute", "per_hour", "per_day")
VELOCITY_LENGTH: dict[VelocityName, timedelta] = {
    "per_minute": timedelta(minutes=1),
    "per_hour": timedelta(hours=1),
    "per_day": timedelta(hours=24),
}
_VELOCITY_PREFIX: dict[VelocityName, str] = {"per_minute": "n", "per_hour": "h", "per_day": "c"}


@dataclass(frozen=True)
class VelocityPosition:
    """Which minute, hour or day (from created_at) `now` falls in, for counting payments."""

    name: VelocityName
    index: int
    resets_at: datetime

    @property
    def counter_key(self) -> str:
        """The name of this window's counter in the session's payment counts."""
        return f"{_VELOCITY_PREFIX[self.name]}{self.index}"


def velocity_position(name: VelocityName, created_at: datetime, now: datetime) -> VelocityPosition:
    """The velocity window of `name` containing `now`; before created_at it is window 0."""
    length = VELOCITY_LENGTH[name]
    index = max(0, (now - created_at) // length)
    return VelocityPosition(name=name, index=index, resets_at=created_at + (index + 1) * length)


def stale_count_keys(keys: list[str], created_at: datetime, now: datetime) -> list[str]:
    """Counters of velocity windows that ended before the previous one (safe to drop: no clock is that far behind)."""
    current = {name: velocity_position(name, created_at, now).index for name in VELOCITY_NAMES}
    stale = []
    for key in keys:
        name = next((n for n, prefix in _VELOCITY_PREFIX.items() if key.startswith(prefix)), None)
        if name is not None and key[1:].isdigit() and int(key[1:]) < current[name] - 1:
            stale.append(key)
    return stale


_KIND_OF_PREFIX: dict[str, WindowKind] = {prefix: kind for kind, prefix in _COUNTER_PREFIX.items()}


def window_of_counter(key: str, created_at: datetime) -> WindowPosition | None:
    """The day, week or month window a counter key (`d3`) stands for; None for any other key."""
    kind = _KIND_OF_PREFIX.get(key[:1])
    if kind is None or not key[1:].isdigit():
        return None
    index = int(key[1:])
    length = WINDOW_LENGTH[kind]
    starts_at = created_at + index * length
    return WindowPosition(kind=kind, index=index, starts_at=starts_at, resets_at=starts_at + length)
