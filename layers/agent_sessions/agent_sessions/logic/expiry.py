"""The sweep: expire sessions past `expires_at`, lapse holds past their deadline, resume paused sessions.

Correctness never depends on it: every read already shows a session past `expires_at` as
expired and a lapsed hold as released. The sweep makes the stored state (and so the events the
stream carries) catch up. It reads only what is due, through the sparse due index, and every
write is conditional, so two sweeps at once, or a sweep that dies halfway, are harmless: the
next one finishes the job, and each change happens (and is announced) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent_sessions.dal.ports import DUE_SHARDS, DueItem, DueStore
from agent_sessions.logic.window_alerts import resume_when_due


@dataclass(frozen=True)
class SweepResult:
    """What one sweep found and changed."""

    items_due: int
    sessions_expired: int
    holds_lapsed: int
    sessions_resumed: int = 0
    decisions_settled: int = 0  # decided by a write to the session and not settled by the outbox


def sweep(store: DueStore, now: datetime) -> SweepResult:
    """Expire every session, lapse every hold and resume every paused session that is due at `now`."""
    done = {"items_due": 0, "sessions_expired": 0, "holds_lapsed": 0, "sessions_resumed": 0, "decisions_settled": 0}
    for shard in range(DUE_SHARDS):
        cursor = None
        while True:
            page = store.due_items(shard, now, cursor)
            for item in page.items:
                done["items_due"] += 1
                changed = _run(store, item, now)
                if changed is not None:
                    done[changed] += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    return SweepResult(**done)


def _run(store: DueStore, item: DueItem, now: datetime) -> str | None:
    """Do what a due item asks; the name of what it changed, or None when it had already been done."""
    if item.kind == "session":
        return "sessions_expired" if store.expire_session(item.id, now) else None
    if item.kind == "payment":
        if store.lapse_due_payment(item):
            return "holds_lapsed"
        return "decisions_settled" if _settle_decided(store, item) else None
    if item.kind == "resume":
        return "sessions_resumed" if resume_when_due(store, item, now) else None
    return None


def _settle_decided(store: DueStore, item: DueItem) -> bool:
    """A payment past its deadline that would not lapse because its session's write decided it, the
    outbox never having settled that (its stream failing for good): settled here, which also takes
    it off the due index. One read, only for a payment that did not lapse."""
    session = store.get_session(item.session_id) if item.session_id else None
    return session is not None and item.id in session.decided_holds and store.settle_decided_hold(session, item.id)
