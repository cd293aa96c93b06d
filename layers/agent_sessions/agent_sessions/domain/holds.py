"""A payment awaiting approval as its session keeps it: its hold, and the hold's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# What deciding a payment awaiting approval makes it: approved (its hold becomes spend) or rejected.
Decision = Literal["authorized", "rejected"]


@dataclass(frozen=True)
class PaymentCopy:
    """What a payment awaiting approval shows beyond its amount, kept on its session's hold while it is
    small, so a decision answers with the whole payment from the one write to the session."""

    description: str | None
    merchant_id: str | None
    metadata: dict[str, Any]
    approval_expires_at: datetime


@dataclass(frozen=True)
class Hold:
    """The amount a payment awaiting approval holds in the windows current when it was taken."""

    amount_cents: int
    taken_at: datetime
    # Decidable by one write to the session (a plain payment's hold; an intent's is decided with its intent).
    session_decidable: bool = False
    copy: PaymentCopy | None = None  # the payment's own fields, when small enough to keep here


@dataclass(frozen=True)
class DecidedHold:
    """A hold decided by a write to its session alone, before the outbox settled it (see held_decisions)."""

    hold: Hold
    decision: Decision
    decided_at: datetime
    decision_key: str | None
