"""The expiry sweep: expire sessions past `expires_at` and lapse holds past their deadline.

Correctness never depends on it: every read already shows a session past `expires_at` as
expired and a lapsed hold as released. The sweep makes the stored state (and so the events the
stream carries) catch up. It reads only what is due, through the sparse due index, and every
write is conditional, so two sweeps at once, or a sweep that dies halfway, are harmless: the
next one finishes the job, and each change happens (and is announced) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent_sessions.dal.ports import DUE_SHARDS, DueStore


@dataclass(frozen=True)
class SweepResult:
    """What one sweep found and changed."""

    items_due: int
    sessions_expired: int
    holds_lapsed: int


def sweep(store: DueStore, now: datetime) -> SweepResult:
    """Expire every session and lapse every hold that is due at `now`."""
    items_due = sessions_expired = holds_lapsed = 0
    for shard in range(DUE_SHARDS):
        cursor = None
        while True:
            page = store.due_items(shard, now, cursor)
            for item in page.items:
                items_due += 1
                if item.kind == "session":
                    sessions_expired += store.expire_session(item.id, now)
                elif item.kind == "payment":
                    holds_lapsed += store.lapse_due_payment(item)
            cursor = page.next_cursor
            if cursor is None:
                break
    return SweepResult(items_due=items_due, sessions_expired=sessions_expired, holds_lapsed=holds_lapsed)
