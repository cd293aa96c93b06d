"""The conditions and updates of MemoryStore's writes: what each DynamoDB expression means, as functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from agent_sessions.dal.codec import due_attributes
from agent_sessions.dal.ports import DueItem, SessionFilter
from agent_sessions.domain.held_decisions import hold_of
from agent_sessions.domain.payment_rules import PaymentChecks, WindowCheck
from agent_sessions.domain.records import MAX_PENDING_APPROVALS, PaymentRecord, SessionRecord
from agent_sessions.domain.windows import WINDOW_LIMIT_NAME


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def to_second(moment: datetime) -> datetime:
    """A moment as the due index keeps it: whole seconds."""
    return datetime.fromtimestamp(epoch(moment), UTC)


def due_entry(pk: str, item: DueItem) -> tuple[str, DueItem, int]:
    attributes = due_attributes(pk, item.due_at)
    return attributes["gsi2sk"], item, int(attributes["gsi2pk"].removeprefix("DUE#"))


def kept(session: SessionRecord, session_filter: SessionFilter, now: datetime) -> bool:
    """The listing's FilterExpression."""
    if session_filter.agent_id is not None and session.agent_id != session_filter.agent_id:
        return False
    if session_filter.user_wallet is not None and session.user_wallet != session_filter.user_wallet:
        return False
    return not session_filter.active_only or (
        session.stored_status == "active" and epoch(session.expires_at) > epoch(now)
    )


def admits(
    session: SessionRecord,
    payment: PaymentRecord,
    checks: PaymentChecks,
    now: datetime,
    expected_version: int | None,
) -> bool:
    """The commit's ConditionExpression on the session."""
    return (
        open_at(session, now, expected_version)
        and session.limits_cents["max_per_transaction"] >= payment.amount_cents
        and (session.allowed_merchants is None or (payment.merchant_id or "") in session.allowed_merchants)
        and (payment.approval_expires_at is None or len(session.holds) < MAX_PENDING_APPROVALS)
        and fits(session, payment.amount_cents, checks)
    )


def open_at(session: SessionRecord, now: datetime, expected_version: int | None) -> bool:
    version_matches = expected_version is None or session.version == expected_version
    return session.stored_status == "active" and epoch(session.expires_at) > epoch(now) and version_matches


def fits(session: SessionRecord, amount: int, checks: PaymentChecks) -> bool:
    """Each window has room for `amount`, each count for one more, and the terms are the ones checked against."""
    counts_have_room = all(
        session.payment_counts.get(check.counter_key, 0) < check.max_count for check in checks.velocity
    )
    return counts_have_room and session.terms_rev == checks.terms_rev and windows_fit(session, amount, checks.windows)


def windows_fit(session: SessionRecord, amount: int, checks: tuple[WindowCheck, ...]) -> bool:
    return all(
        session.limits_cents[WINDOW_LIMIT_NAME[check.kind]] >= amount
        and session.committed_cents.get(check.counter_key, 0) <= check.max_committed_before_cents
        for check in checks
    )


def debited(session: SessionRecord, payment: PaymentRecord, checks: PaymentChecks) -> SessionRecord:
    """The commit's UpdateExpression on the session."""
    amount = payment.amount_cents
    held = payment.approval_expires_at is not None
    committed = dict(session.committed_cents)
    held_cents = dict(session.held_cents)
    holds = dict(session.holds)
    counts = {key: count for key, count in session.payment_counts.items() if key not in checks.stale_counts}
    for velocity in checks.velocity:
        counts[velocity.counter_key] = counts.get(velocity.counter_key, 0) + 1
    for check in checks.windows:
        committed[check.counter_key] = committed.get(check.counter_key, 0) + amount
        if held:
            held_cents[check.counter_key] = held_cents.get(check.counter_key, 0) + amount
    if held:
        assert payment.approval_expires_at is not None
        as_stored = payment.with_changes(  # the table keeps both to the second
            created_at=to_second(payment.created_at), approval_expires_at=to_second(payment.approval_expires_at)
        )
        holds[payment.id] = hold_of(as_stored)
    return replace(
        session,
        committed_cents=committed,
        held_cents=held_cents,
        holds=holds,
        payment_counts=counts,
        version=session.version + 1,
    )


def decidable(
    stored: PaymentRecord | None, session: SessionRecord | None, now: datetime, expected_version: int | None = None
) -> bool:
    """What deciding a payment's write checks: still pending in time, its hold on a live session
    (of exactly `expected_version`, when given)."""
    return (
        stored is not None
        and stored.stored_status == "pending_approval"
        and stored.approval_expires_at is not None
        and epoch(stored.approval_expires_at) > epoch(now)
        and session is not None
        and stored.id in session.holds
        and session.stored_status == "active"
        and epoch(session.expires_at) > epoch(now)
        and expected_version in (None, session.version)
    )


def session_due_at(session: SessionRecord) -> datetime | None:
    """When the due index lists a session: live at its expiry, waiting for consent at its deadline."""
    if session.stored_status == "active":
        return session.expires_at
    if session.stored_status == "pending_consent" and session.consent_deadline is not None:
        return min(session.consent_deadline, session.expires_at)
    return None


def due_to_expire(session: SessionRecord, now: datetime) -> bool:
    """expire_session's condition: live past its expiry, or still waiting for consent past its deadline."""
    due = session_due_at(session)
    return due is not None and epoch(due) <= epoch(now)
