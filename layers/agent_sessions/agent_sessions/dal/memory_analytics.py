"""Analytics counters in memory: the same tallies as the DynamoDB transactions, under the store's lock."""

from __future__ import annotations

import threading
from collections import Counter

from agent_sessions.dal.analytics_ports import DayTally, DayTotals


class MemoryAnalytics:
    """The counters of AnalyticsStore in memory (mixed into MemoryStore)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._counted: set[str] = set()
        self._days: dict[tuple[str, str | None, str], Counter[str]] = {}
        self._live: dict[str, Counter[str]] = {}

    def add_tally(self, source: str, account_id: str, tally: DayTally) -> int:
        with self._lock:
            if source in self._counted:
                return 0
            self._counted.add(source)
            for agent in (None, tally.agent_id):
                day = self._days.setdefault((account_id, agent, tally.day), Counter())
                day.update({"succeeded": tally.succeeded, "volume": tally.volume_cents, "failed": tally.failed})
                if tally.volume_cents:
                    day[f"T:{tally.token}"] += tally.volume_cents
            return 1

    def add_live_sessions(self, source: str, account_id: str, agent_id: str, delta: int) -> int:
        with self._lock:
            if source in self._counted:
                return 0
            self._counted.add(source)
            live = self._live.setdefault(account_id, Counter())
            live.update({"live": delta, f"A:{agent_id}": delta})
            return 1

    def read_tallies(self, account_id: str, agent_id: str | None, days: list[str]) -> tuple[list[DayTotals], int, int]:
        with self._lock:
            totals = [_totals(day, self._days.get((account_id, agent_id, day), Counter())) for day in days]
            live = self._live.get(account_id, Counter())
        agents = {name[2:]: count for name, count in live.items() if name.startswith("A:")}
        if agent_id is not None:
            mine = agents.get(agent_id, 0)
            return totals, mine, 1 if mine > 0 else 0
        return totals, live["live"], sum(1 for count in agents.values() if count > 0)


def _totals(day: str, counts: Counter[str]) -> DayTotals:
    tokens = {name[2:]: count for name, count in counts.items() if name.startswith("T:") and count}
    return DayTotals(day, counts["succeeded"], counts["volume"], counts["failed"], tokens)
