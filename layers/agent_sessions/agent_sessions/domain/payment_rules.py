"""The rules a payment is checked against, as pure functions of a session and an attempt.

The store enforces these same rules atomically in DynamoDB condition expressions; this module
builds the numbers those conditions compare against and, when a condition fails, reads the
session as it was (ALL_OLD) to say which rule refused the payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from agent_sessions.domain.errors import (
    ConsentRequired,
    DomainError,
    LimitExceeded,
    MerchantNotAllowed,
    RateLimited,
    SessionExpired,
    SessionRevoked,
    VelocityLimited,
)
from agent_sessions.domain.held_decisions import hold_of
from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import (
    HOLD_LIFETIME,
    MAX_PENDING_APPROVALS,
    Decision,
    PaymentRecord,
    SessionRecord,
    SessionTerms,
    format_timestamp,
)
from agent_sessions.domain.windows import (
    VELOCITY_NAMES,
    WINDOW_KINDS,
    WINDOW_LIMIT_NAME,
    VelocityName,
    WindowKind,
    current_counter_key,
    stale_count_keys,
    velocity_position,
)


class WindowCheck(NamedTuple):
    """One window a payment must fit in: its counter and the most it may hold before this payment.

    The checks are NamedTuples, not frozen dataclasses: every payment makes four or more of them.
    """

    kind: WindowKind  # its limit is WINDOW_LIMIT_NAME[kind]
    counter_key: str
    # limit - amount: the counter may be at most this for the payment to fit (negative: never fits).
    max_committed_before_cents: int


def window_checks(terms: SessionTerms, amount_cents: int, now: datetime) -> tuple[WindowCheck, ...]:
    """The day, week and month windows current at `now`, with the room each needs."""
    checks = []
    for kind in WINDOW_KINDS:
        checks.append(
            WindowCheck(
                kind=kind,
                counter_key=current_counter_key(kind, terms.created_at, now),
                max_committed_before_cents=terms.limits_cents[WINDOW_LIMIT_NAME[kind]] - amount_cents,
            )
        )
    return tuple(checks)


class VelocityCheck(NamedTuple):
    """One velocity window a payment must fit in: its counter and how many payments it may already hold."""

    name: VelocityName
    counter_key: str
    max_count: int


def velocity_checks(terms: SessionTerms, now: datetime) -> tuple[VelocityCheck, ...]:
    """The minute, hour and day counts current at `now`, for the velocity limits the session has."""
    return tuple(
        VelocityCheck(
            name=name,
            counter_key=velocity_position(name, terms.created_at, now).counter_key,
            max_count=terms.velocity[name],
        )
        for name in VELOCITY_NAMES
        if name in terms.velocity
    )


class PaymentChecks(NamedTuple):
    """Everything a payment's conditional write compares, from the terms it was checked against."""

    windows: tuple[WindowCheck, ...]
    velocity: tuple[VelocityCheck, ...] = ()
    terms_rev: int = 0
    # Velocity counters of windows long gone, dropped by the same write (known from a read).
    stale_counts: tuple[str, ...] = ()


def payment_checks(terms: SessionTerms, amount_cents: int, now: datetime) -> PaymentChecks:
    """The windows and velocity counts a payment of `amount_cents` must fit in at `now`."""
    return PaymentChecks(
        windows=window_checks(terms, amount_cents, now),
        velocity=velocity_checks(terms, now),
        terms_rev=terms.terms_rev,
    )


def with_stale_counts(checks: PaymentChecks, session: SessionRecord | None, now: datetime) -> PaymentChecks:
    """`checks` that also drop the velocity counters `session` (as last seen) keeps for windows long gone."""
    if session is None or not session.payment_counts:
        return checks
    stale = stale_count_keys(list(session.payment_counts), session.created_at, now)
    return PaymentChecks(checks.windows, checks.velocity, checks.terms_rev, tuple(stale))


def needs_approval(terms: SessionTerms, amount_cents: int) -> bool:
    """An amount above require_approval_above waits for a person."""
    return amount_cents > terms.limits_cents["require_approval_above"]


def approval_deadline(terms: SessionTerms, now: datetime) -> datetime:
    """When a hold taken at `now` lapses unless decided: an hour later, or at the session's end."""
    return min(now + HOLD_LIFETIME, terms.expires_at)


def _shown(cents: int) -> str:
    """Cents as a sentence shows them: `$1,250.00`."""
    return f"${cents_to_dollars(cents):,.2f}"


def refusal_for(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    """The rule that refuses `payment` against `session` at `now`, or None if it would pass.

    Reads the session as a reader does: holds that have lapsed no longer count, even if no
    write has released them yet (the caller releases them and tries again).
    """
    for rule in (_ended, _over_per_transaction, _merchant_not_allowed, _over_a_window, _too_fast, _too_many_holds):
        refusal = rule(session, payment, now)
        if refusal is not None:
            return refusal
    return None


def largest_payable_cents(session: SessionRecord, now: datetime) -> int:
    """The largest amount that would pass right now: the least of max_per_transaction and every window's room."""
    rooms = [window.remaining_cents for window in session.windows(now).values()]
    return min([session.limits_cents["max_per_transaction"], *rooms])


def _ended(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    status = session.status_at(now)
    if status == "revoked":
        return SessionRevoked()
    if status == "expired":
        return SessionExpired()
    if status == "pending_consent":
        return ConsentRequired()
    return None


def _over_per_transaction(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    amount = payment.amount_cents
    per_transaction = session.limits_cents["max_per_transaction"]
    if amount <= per_transaction:
        return None
    return LimitExceeded(
        f"The payment of {_shown(amount)} exceeds max_per_transaction ({_shown(per_transaction)}).",
        {
            "limit": "max_per_transaction",
            "limit_amount": cents_to_dollars(per_transaction),
            "remaining": cents_to_dollars(largest_payable_cents(session, now)),
            "attempted": cents_to_dollars(amount),
            "resets_at": None,
        },
    )


def _merchant_not_allowed(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    if session.allowed_merchants is None or payment.merchant_id in session.allowed_merchants:
        return None
    if payment.merchant_id is None:
        return MerchantNotAllowed(
            "This session only pays the merchants in allowed_merchants; the payment named none (merchant_id).",
            {"merchant_id": None},
        )
    return MerchantNotAllowed(
        f"Merchant {payment.merchant_id!r} is not in this session's allowed_merchants.",
        {"merchant_id": payment.merchant_id},
    )


def _over_a_window(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    amount = payment.amount_cents
    for kind in WINDOW_KINDS:
        window = session.window(kind, now)
        if amount > window.remaining_cents:
            limit_name = WINDOW_LIMIT_NAME[kind]
            return LimitExceeded(
                f"The payment of {_shown(amount)} exceeds what is left of {limit_name} "
                f"({_shown(window.remaining_cents)}) until {format_timestamp(window.resets_at)}.",
                {
                    "limit": limit_name,
                    "limit_amount": cents_to_dollars(window.limit_cents),
                    "remaining": cents_to_dollars(largest_payable_cents(session, now)),
                    "attempted": cents_to_dollars(amount),
                    "resets_at": format_timestamp(window.resets_at),
                },
            )
    return None


_VELOCITY_LIMIT_NAME: dict[VelocityName, str] = {
    "per_minute": "rate_limits.payments.per_minute",
    "per_hour": "rate_limits.payments.per_hour",
    "per_day": "max_payments_per_day",
}


def _too_fast(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    for state in session.velocity_states(now).values():
        if state.remaining == 0:
            wait = max(1, int((state.resets_at - now).total_seconds()))
            name = _VELOCITY_LIMIT_NAME[state.name]
            return VelocityLimited(
                f"This session may make {state.limit} payments {_VELOCITY_SPAN[state.name]} ({name}); "
                f"the next may be made at {format_timestamp(state.resets_at)}.",
                {
                    "limit": name,
                    "limit_count": state.limit,
                    "resets_at": format_timestamp(state.resets_at),
                    "retry_after_seconds": wait,
                },
            )
    return None


_VELOCITY_SPAN: dict[VelocityName, str] = {"per_minute": "a minute", "per_hour": "an hour", "per_day": "a day"}


def _too_many_holds(session: SessionRecord, payment: PaymentRecord, now: datetime) -> DomainError | None:
    live_holds = len(session.holds) - len(session.lapsed_holds(now))
    if payment.approval_expires_at is None or live_holds < MAX_PENDING_APPROVALS:
        return None
    return RateLimited(
        f"This session already has {MAX_PENDING_APPROVALS} payments awaiting approval; decide some first.",
        {"limit": "pending_approvals", "limit_amount": MAX_PENDING_APPROVALS},
    )


Verdict = Literal["authorize", "hold_for_approval", "decline"]


@dataclass(frozen=True)
class PaymentCheck:
    """A dry run's answer: the verdict, the refusal if any, and the session as the payment would leave it."""

    would: Verdict
    session_after: SessionRecord
    refusal: DomainError | None = None


def session_after_payment(session: SessionRecord, payment: PaymentRecord, checks: PaymentChecks) -> SessionRecord:
    """The session as a committed payment leaves it (what the store wrote, computed, not read)."""
    counts = {key: count for key, count in session.payment_counts.items() if key not in checks.stale_counts}
    for check in checks.velocity:
        counts[check.counter_key] = counts.get(check.counter_key, 0) + 1
    committed = dict(session.committed_cents)
    held = dict(session.held_cents)
    holds = dict(session.holds)
    for key in payment.window_keys:
        committed[key] = committed.get(key, 0) + payment.amount_cents
        if payment.approval_expires_at is not None:
            held[key] = held.get(key, 0) + payment.amount_cents
    if payment.approval_expires_at is not None:
        holds[payment.id] = hold_of(payment)
    return session.with_changes(
        committed_cents=committed, held_cents=held, holds=holds, payment_counts=counts, version=session.version + 1
    )


def spent_by_decision(amount_cents: int, decision: Decision, captured_cents: int | None = None) -> int:
    """What deciding a held payment spends: all of it when approved (or `captured_cents` of it, a
    manual intent's partial capture), nothing when rejected; the rest of the hold is released."""
    if decision != "authorized":
        return 0
    return captured_cents if captured_cents is not None else amount_cents


def session_after_hold_ends(
    session: SessionRecord, payment_id: str, amount_cents: int, window_keys: tuple[str, ...], released_cents: int
) -> SessionRecord:
    """The session as ending a hold leaves it: held down by the hold's amount, committed by what is
    not spent (`released_cents`: none when approved, all when rejected or lapsed), the hold gone."""
    committed = dict(session.committed_cents)
    held_cents = dict(session.held_cents)
    for key in window_keys:
        held_cents[key] = held_cents.get(key, 0) - amount_cents
        committed[key] = committed.get(key, 0) - released_cents
    holds = {pid: hold for pid, hold in session.holds.items() if pid != payment_id}
    return session.with_changes(
        committed_cents=committed, held_cents=held_cents, holds=holds, version=session.version + 1
    )
