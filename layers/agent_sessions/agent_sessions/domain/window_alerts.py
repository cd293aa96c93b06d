"""Early warning and resumption: when a window's commitments reach the warning threshold or its
limit, and whether a session paused by a window can spend again once that window has reset.

Pure functions of the session's images, so the outbox (which sees each write's old and new image)
and the sweep decide the same way. Each is keyed by the window's counter (`d3`), so a window is
warned about and resumed at most once, whatever redelivery or retries do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from agent_sessions.domain.records import SessionRecord
from agent_sessions.domain.windows import WINDOW_LIMIT_NAME, window_of_counter


@dataclass(frozen=True)
class WindowAlert:
    """What a session write calls for: a warning to record, or a resumption to schedule at `due_at`."""

    kind: Literal["warn", "schedule_resume"]
    session_id: str
    counter_key: str
    due_at: datetime | None = None


def _committed_and_limit(session: SessionRecord, key: str) -> tuple[int, int] | None:
    position = window_of_counter(key, session.created_at)
    if position is None:
        return None
    return session.committed_cents.get(key, 0), session.limits_cents[WINDOW_LIMIT_NAME[position.kind]]


def warning_threshold_cents(session: SessionRecord, limit_cents: int) -> int:
    """The commitment at which a window is warned about: warn_at_percent of its limit, rounded up."""
    return -(-limit_cents * session.warn_at_percent // 100)


def alerts_for(old: SessionRecord, new: SessionRecord) -> list[WindowAlert]:
    """The warnings and resumptions a write from `old` to `new` calls for (a payment, or a lowered limit)."""
    alerts = []
    for key in new.committed_cents:
        now_state, before = _committed_and_limit(new, key), _committed_and_limit(old, key)
        if now_state is None or before is None:
            continue
        (committed, limit), (committed_before, limit_before) = now_state, before
        warned_before = committed_before >= warning_threshold_cents(old, limit_before)
        if committed >= warning_threshold_cents(new, limit) and not warned_before and key not in new.warned:
            alerts.append(WindowAlert("warn", new.id, key))
        if committed >= limit > 0 and committed_before < limit_before:
            position = window_of_counter(key, new.created_at)
            assert position is not None  # _committed_and_limit found it
            alerts.append(WindowAlert("schedule_resume", new.id, key, position.resets_at))
    return alerts


ResumeDecision = Literal["drop", "resume"] | datetime


def resume_decision(session: SessionRecord, key: str, now: datetime) -> ResumeDecision:
    """At `now`, for a session paused by window `key`: resume it, wait until a later time, or drop the task.

    It resumes once `key`'s window has reset and no other window still has nothing left; it is
    dropped when the session has ended or was already resumed after that window.
    """
    position = window_of_counter(key, session.created_at)
    if position is None or key in session.resumed or not session.is_active_at(now):
        return "drop"
    if now < position.resets_at:
        return position.resets_at
    exhausted = [window.resets_at for window in session.windows(now).values() if window.remaining_cents == 0]
    return max(exhausted) if exhausted else "resume"
