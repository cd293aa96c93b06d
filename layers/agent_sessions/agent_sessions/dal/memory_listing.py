"""An account's payments in memory, newest first, filtered as the DynamoDB Query filters them."""

from __future__ import annotations

import threading

from agent_sessions.dal.ports import PaymentFilter
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import PaymentRecord

NANOS = 1_000_000_000


class MemoryAccountPayments:
    """AccountPaymentLister in memory (mixed into MemoryStore, whose payments it reads)."""

    _lock: threading.RLock
    _payments: dict[str, PaymentRecord]
    _written_at: dict[str, int]

    def list_account_payments(
        self, account_id: str, limit: int, cursor: str | None, payment_filter: PaymentFilter
    ) -> Page[PaymentRecord]:
        from agent_sessions.dal.memory import _page

        with self._lock:
            ordered = sorted(
                (
                    (self._written_at[payment.id], payment)
                    for payment in self._payments.values()
                    if payment.account_id == account_id and _kept(payment, payment_filter)
                ),
                key=lambda entry: -entry[0],
            )
        items, next_cursor = _page(ordered, limit, cursor, "PAY#")
        return Page(items, next_cursor)


def _kept(payment: PaymentRecord, wanted: PaymentFilter) -> bool:
    named = (wanted.session_id, wanted.agent_id, wanted.status)
    has = (payment.session_id, payment.agent_id, payment.stored_status)
    matches = all(value is None or value == own for value, own in zip(named, has, strict=True))
    return payment.stored_status != "declined" and matches and _in_range(payment, wanted)


def _in_range(payment: PaymentRecord, wanted: PaymentFilter) -> bool:
    created_ns = int(payment.created_at.timestamp()) * NANOS
    after, before = wanted.after_ns or 0, wanted.before_ns
    return after <= created_ns and (before is None or created_ns < before)
