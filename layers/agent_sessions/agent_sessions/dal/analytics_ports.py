"""What the analytics need from storage: per-day counters kept from the stream (see `dal.ports`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent_sessions.dal.ports import SessionReader


@dataclass(frozen=True)
class DayTally:
    """One decision's effect on a day's counters (and its agent's)."""

    day: str  # 2026-11-24
    agent_id: str
    succeeded: int
    volume_cents: int
    failed: int
    token: str


@dataclass(frozen=True)
class DayTotals:
    """A day's counters as read: payments that succeeded, their volume (also per token), and failures."""

    day: str
    succeeded: int = 0
    volume_cents: int = 0
    failed: int = 0
    tokens: dict[str, int] = field(default_factory=dict)


class AnalyticsStore(SessionReader, Protocol):
    """Per-account, per-day counters kept from the stream, each tally once."""

    def add_tally(self, source: str, account_id: str, tally: DayTally) -> int:
        """Add `tally` to its day (account-wide and its agent's) unless `source` was counted: 1 if added."""

    def add_live_sessions(self, source: str, account_id: str, agent_id: str, delta: int) -> int:
        """Move the account's live sessions (and its agent's) by `delta` unless `source` was counted."""

    def read_tallies(self, account_id: str, agent_id: str | None, days: list[str]) -> tuple[list[DayTotals], int, int]:
        """The days' totals (one agent's with `agent_id`), the live sessions and the agents with one."""
