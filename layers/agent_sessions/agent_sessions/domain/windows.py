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
    index = max(0, (now - created_at) // length)
    starts_at = created_at + index * length
    return WindowPosition(kind=kind, index=index, starts_at=starts_at, resets_at=starts_at + length)
