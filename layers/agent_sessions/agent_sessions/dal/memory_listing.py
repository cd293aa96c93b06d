"""Listings in memory: pages newest first; an account's payments as its Query filters them."""

from __future__ import annotations

import threading
from typing import Any

from agent_sessions.dal.codec import checked_cursor
from agent_sessions.dal.ports import PaymentFilter
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import PaymentRecord

NANOS = 1_000_000_000


def _encode_cursor(position: int, object_id: str) -> str:
    return f"{position:020d}#{object_id}"


def newest_first_page(
    ordered: list[tuple[int, Any]], limit: int, cursor: str | None, pk_prefix: str
) -> tuple[list[Any], str | None]:
    """`limit` entries of a newest-first list after `cursor`, and the cursor after them if more remain.

    The cursors have DynamoDB's pattern (codec.checked_cursor); their 20 digits are the position here.
    """
    start = int(checked_cursor(cursor, pk_prefix)[:20]) if cursor else None
    remaining = [entry for entry in ordered if start is None or entry[0] < start]
    taken = remaining[:limit]
    more = len(remaining) > limit
    last = taken[-1] if more and taken else None
    return [item for _, item in taken], _encode_cursor(last[0], last[1].id) if last else None


class MemoryAccountPayments:
    """AccountPaymentLister in memory (mixed into MemoryStore, whose payments it reads)."""

    _lock: threading.RLock
    _payments: dict[str, PaymentRecord]
    _written_at: dict[str, int]

    def list_account_payments(
        self, account_id: str, limit: int, cursor: str | None, payment_filter: PaymentFilter
    ) -> Page[PaymentRecord]:
        with self._lock:
            ordered = sorted(
                (
                    (self._written_at[payment.id], payment)
                    for payment in self._payments.values()
                    if payment.account_id == account_id and _kept(payment, payment_filter)
                ),
                key=lambda entry: -entry[0],
            )
        items, next_cursor = newest_first_page(ordered, limit, cursor, "PAY#")
        return Page(items, next_cursor)

    def list_declined_payments(self, session_id: str, limit: int) -> list[PaymentRecord]:
        with self._lock:
            declined = [
                p for p in self._payments.values() if p.session_id == session_id and p.stored_status == "declined"
            ]
        return sorted(declined, key=lambda payment: -self._written_at[payment.id])[:limit]


def _kept(payment: PaymentRecord, wanted: PaymentFilter) -> bool:
    named = (wanted.session_id, wanted.agent_id, wanted.status)
    has = (payment.session_id, payment.agent_id, payment.stored_status)
    matches = all(value is None or value == own for value, own in zip(named, has, strict=True))
    return payment.stored_status != "declined" and matches and _in_range(payment, wanted)


def _in_range(payment: PaymentRecord, wanted: PaymentFilter) -> bool:
    created_ns = int(payment.created_at.timestamp()) * NANOS
    after, before = wanted.after_ns or 0, wanted.before_ns
    return after <= created_ns and (before is None or created_ns < before)
