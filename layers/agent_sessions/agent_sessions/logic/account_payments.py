"""GET /api/v1/payments: an account's payments across its sessions, newest first, one Query per page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from agent_sessions.dal.ports import AccountPaymentLister, PaymentFilter
from agent_sessions.domain.days import parse_days
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import Caller, PaymentRecord
from agent_sessions.logic.sessions import require_api_key

NANOS = 1_000_000_000


def list_account_payments(
    store: AccountPaymentLister,
    caller: Caller | None,
    limit: int,
    cursor: str | None,
    wanted: dict[str, str | None],
) -> Page[PaymentRecord]:
    """A page of the caller's account's payments: `wanted` holds session_id, agent_id, status, from, to.

    `from` and `to` are days (UTC, inclusive). Filters apply within the page's Query, so a filtered
    page may hold fewer than `limit` payments while next_cursor says more may follow.
    """
    account = require_api_key(caller).account_id
    after, before = _bounds(wanted.get("from"), wanted.get("to"))
    payment_filter = PaymentFilter(
        session_id=wanted.get("session_id"),
        agent_id=wanted.get("agent_id"),
        status=wanted.get("status"),
        after_ns=after,
        before_ns=before,
    )
    return store.list_account_payments(account, limit, cursor, payment_filter)


def _bounds(first: str | None, last: str | None) -> tuple[int | None, int | None]:
    """The sort-key bounds of the days: from the first's midnight, to before the day after the last."""
    start, end = parse_days(first, last)
    return (
        _start_ns(start) if start else None,
        _start_ns(end + timedelta(days=1)) if end else None,
    )


def _start_ns(day: date) -> int:
    """Midnight UTC of `day`, in nanoseconds since the epoch (the listing's sort keys)."""
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp()) * NANOS
