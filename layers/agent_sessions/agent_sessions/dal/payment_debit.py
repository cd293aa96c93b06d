"""The session's side of a payment: one update expression that checks every rule and moves every counter.

The payment's TransactWriteItems (dal/payments.py) sends it with the payment's put. Each rule is a
condition, so no read decides anything: the day, week and month windows (by index, so a new
window simply starts a new counter), the hold of a payment awaiting approval, and the velocity
counts. The text for each kind of window is written once, at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import to_attribute
from agent_sessions.dal.hold_codec import hold_attribute
from agent_sessions.dal.table import session_write_marks, terms_rev_condition
from agent_sessions.domain.held_decisions import hold_of
from agent_sessions.domain.payment_rules import PaymentChecks, WindowCheck
from agent_sessions.domain.records import MAX_PENDING_APPROVALS, PaymentRecord
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME, WindowKind


@dataclass
class UpdateExpression:
    """An update's SET and REMOVE clauses, its conditions, and the names and values they use."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    updates: list[str] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)

    def request(self) -> dict[str, Any]:
        removals = " REMOVE " + ", ".join(self.removals) if self.removals else ""
        return {
            "UpdateExpression": "SET " + ", ".join(self.updates) + removals,
            "ConditionExpression": " AND ".join(self.conditions),
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": self.values,
        }


def payment_debit(
    payment: PaymentRecord, checks: PaymentChecks, now: datetime, expected_version: int | None
) -> UpdateExpression:
    """The session's side of a payment: every rule as a condition, every counter it moves."""
    marks, mark_values = session_write_marks(payment.id, payment.first_status)
    debit = UpdateExpression(
        names={"#status": "status"},
        values={
            ":active": {"S": "active"},
            ":now": {"N": str(int(now.timestamp()))},
            ":amount": {"N": str(payment.amount_cents)},
            ":zero": {"N": "0"},
            # "" is never a merchant id, so with no merchant_id an allow-list refuses.
            ":merchant": {"S": payment.merchant_id or ""},
            **mark_values,
        },
        updates=[marks],
        conditions=[
            "#status = :active",
            "expires_epoch > :now",
            "limits.max_per_transaction >= :amount",
            "(attribute_not_exists(allowed_merchants) OR contains(allowed_merchants, :merchant))",
        ],
    )
    _debit_windows(debit, checks.windows, held=payment.approval_expires_at is not None)
    if payment.approval_expires_at is not None:
        _take_hold(debit, payment)
    _count_payment(debit, checks)
    debit.conditions.append(terms_rev_condition(checks.terms_rev, debit.values))
    if expected_version is not None:
        debit.values[":version"] = {"N": str(expected_version)}
        debit.conditions.append("version = :version")
    return debit


@dataclass(frozen=True)
class _WindowDebitText:
    """The expression text that checks and debits one kind of window (the same on every payment)."""

    counter: str  # the name placeholder of the window's counter key
    room: str  # the value placeholder of the most the counter may be before this payment
    debit: str
    hold: str
    fits: str


def _window_debit_text(kind: WindowKind, limit_name: str) -> _WindowDebitText:
    counter, room = f"#{kind}", f":room_{kind}"
    return _WindowDebitText(
        counter=counter,
        room=room,
        debit=f"committed.{counter} = if_not_exists(committed.{counter}, :zero) + :amount",
        hold=f"held.{counter} = if_not_exists(held.{counter}, :zero) + :amount",
        fits=f"limits.{limit_name} >= :amount AND "
        f"(attribute_not_exists(committed.{counter}) OR committed.{counter} <= {room})",
    )


_WINDOW_DEBIT_TEXT = {kind: _window_debit_text(kind, WINDOW_LIMIT_NAME[kind]) for kind in WINDOW_KINDS}


def _debit_windows(debit: UpdateExpression, checks: tuple[WindowCheck, ...], held: bool) -> None:
    """Each current window (by index, so a new window starts a new counter) must have room; it is debited."""
    for check in checks:
        text = _WINDOW_DEBIT_TEXT[check.kind]
        debit.names[text.counter] = check.counter_key
        debit.values[text.room] = {"N": str(check.max_committed_before_cents)}
        debit.updates.append(text.debit)
        debit.conditions.append(text.fits)
        if held:
            debit.updates.append(text.hold)


def _take_hold(debit: UpdateExpression, payment: PaymentRecord) -> None:
    """A payment awaiting approval records its hold, if the session has room for one more."""
    debit.names["#payment"] = payment.id
    debit.values[":hold"] = to_attribute(hold_attribute(hold_of(payment)))
    debit.values[":max_pending"] = {"N": str(MAX_PENDING_APPROVALS)}
    debit.updates.append("holds.#payment = :hold")
    debit.conditions.append("size(holds) < :max_pending")


def _count_payment(debit: UpdateExpression, checks: PaymentChecks) -> None:
    """For each velocity limit: count the payment in its current window, which must have room for it.

    Counters of windows long gone that the last read showed are dropped by the same write.
    """
    for position, check in enumerate(checks.velocity):
        counter = f"#count{position}"
        debit.names[counter] = check.counter_key
        debit.values[f":most{position}"] = {"N": str(check.max_count)}
        debit.values[":one_payment"] = {"N": "1"}
        debit.updates.append(
            f"payment_counts.{counter} = if_not_exists(payment_counts.{counter}, :zero) + :one_payment"
        )
        debit.conditions.append(
            f"(attribute_not_exists(payment_counts.{counter}) OR payment_counts.{counter} < :most{position})"
        )
    for position, key in enumerate(checks.stale_counts):
        debit.names[f"#stale{position}"] = key
        debit.removals.append(f"payment_counts.#stale{position}")
