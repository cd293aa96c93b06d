"""What the outbox and the sweep do about windows: warn once near the limit, resume once after a reset.

The outbox sees each session write (old and new image) and records a warning, or schedules a
resumption task, when the write calls for one; those records are themselves session writes,
and the outbox announces them from the stream like every other event. The sweep runs the
resumption tasks that are due (through the due index, never a scan of sessions).
"""

from __future__ import annotations

from datetime import datetime

from agent_sessions.dal.ports import DueItem, WindowAlertStore
from agent_sessions.domain.records import SessionRecord
from agent_sessions.domain.window_alerts import WindowAlert, alerts_for, resume_decision
from agent_sessions.logic.outbox import Change, moment_of


def follow_up(store: WindowAlertStore, change: Change) -> None:
    """Record the warnings and schedule the resumptions one session write calls for (idempotent)."""
    old, new = change.old, change.new
    if isinstance(old, SessionRecord) and isinstance(new, SessionRecord):
        at = moment_of(new.changed_at_ns) if new.changed_at_ns else change.at
        for alert in alerts_for(old, new):
            _apply(store, alert, at)


def _apply(store: WindowAlertStore, alert: WindowAlert, at: datetime) -> None:
    if alert.kind == "warn":
        store.mark_window(alert.session_id, "warned", alert.counter_key, at)
    elif alert.due_at is not None:
        store.schedule_resume(alert.session_id, alert.counter_key, alert.due_at)


def resume_when_due(store: WindowAlertStore, task: DueItem, now: datetime) -> bool:
    """Run a due resumption task: True when the session was resumed now (and so announced)."""
    session_id = task.session_id or ""
    session = store.get_session(session_id)
    decision = resume_decision(session, task.id, now) if session else "drop"
    if isinstance(decision, datetime):
        store.reschedule_resume(session_id, task.id, decision)
        return False
    resumed = decision == "resume" and store.mark_window(session_id, "resumed", task.id, now)
    store.drop_resume(session_id, task.id)
    return resumed
