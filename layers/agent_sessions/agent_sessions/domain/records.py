"""The domain's records: sessions, payments, who is calling, and what each reads as now."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from agent_sessions.domain.holds import DecidedHold as DecidedHold
from agent_sessions.domain.holds import Decision as Decision
from agent_sessions.domain.holds import Hold as Hold
from agent_sessions.domain.record_copies import copy_with
from agent_sessions.domain.windows import (
    VELOCITY_NAMES,
    WINDOW_KINDS,
    WINDOW_LIMIT_NAME,
    VelocityName,
    WindowKind,
    velocity_position,
    window_position,
)

LimitName = Literal["max_per_transaction", "max_per_day", "max_per_week", "max_per_month", "require_approval_above"]
# The SDK's defaults, in cents; a limit the caller sends replaces only that limit.
DEFAULT_LIMITS_CENTS: dict[LimitName, int] = {
    "max_per_transaction": 1_000_00,
    "max_per_day": 5_000_00,
    "max_per_week": 20_000_00,
    "max_per_month": 50_000_00,
    "require_approval_above": 500_00,
}
LIMIT_NAMES: tuple[LimitName, ...] = tuple(DEFAULT_LIMITS_CENTS)

SessionStatus = Literal["pending_consent", "active", "paused", "revoked", "expired"]
# The statuses in which a session can still spend: what `is_active` means on the wire.
LIVE_STATUSES: frozenset[SessionStatus] = frozenset({"active", "paused"})
StoredSessionStatus = Literal["pending_consent", "active", "revoked", "expired"]

# A payment above require_approval_above holds its amount until approved, rejected, or this
# long after it was taken (or the session's end, whichever is first).
HOLD_LIFETIME = timedelta(minutes=60)
# A window's limit_warning is announced when what it has committed first reaches this percent.
DEFAULT_WARN_AT_PERCENT = 80
# At most this many payments may await approval in one session at a time.
MAX_PENDING_APPROVALS = 50

# `declined` never reaches the wire as a Payment: it is the ledger's record of a refused attempt.
PaymentStatus = Literal["authorized", "pending_approval", "rejected", "expired", "declined"]


def utc_now() -> datetime:
    """The current time, UTC, truncated to whole seconds as every stored timestamp is."""
    return datetime.now(UTC).replace(microsecond=0)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with a `Z`, to the second: `2026-11-24T10:00:00Z`."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def parse_timestamp(text: str) -> datetime:
    """The inverse of format_timestamp (exactly its shape; ValueError for anything else)."""
    if len(text) != 20 or text[10] != "T" or text[19] != "Z":
        raise ValueError(f"not a timestamp of the form 2026-11-24T10:00:00Z: {text!r}")
    return datetime.fromisoformat(text)  # C-fast, unlike strptime; `Z` reads as UTC


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it."""

    kind: Literal["api_key", "session_token"]
    account_id: str
    session_id: str | None = None
    # For a session token: its session's terms, which never change (so no read is needed to pay).
    terms: SessionTerms | None = None
    # For an agent key (an API key of the account with scopes): its id, fine scopes and hourly limit.
    key_id: str | None = None
    scopes: frozenset[str] | None = None
    rate_limit_per_hour: int = 0


@dataclass(frozen=True)
class SessionTerms:
    """What a session's payments are checked against and never changes after creation."""

    limits_cents: dict[LimitName, int]
    created_at: datetime
    expires_at: datetime
    # How many payments per minute, hour and day (only those set).
    velocity: dict[VelocityName, int] = field(default_factory=dict)
    # Bumped by every change of the terms (PATCH): a payment checked against older terms is refused
    # by its condition and checked again, so a lowered limit binds from the moment it is written.
    terms_rev: int = 0
    agent_id: str = ""  # whose session: kept on its payments for the account-wide listing


@dataclass(frozen=True)
class VelocityState:
    """One velocity limit as it stands now: how many payments its window has left."""

    name: VelocityName
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        """limit - used, never below 0."""
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class WindowState:
    """One window as a reader sees it now, in cents."""

    kind: WindowKind
    limit_cents: int
    spent_cents: int
    held_cents: int
    resets_at: datetime

    @property
    def remaining_cents(self) -> int:
        """limit - spent - held, never below 0."""
        return max(0, self.limit_cents - self.spent_cents - self.held_cents)


PaymentChangeKind = Literal["authorized", "pending_approval", "approved", "rejected", "expired"]


@dataclass(frozen=True)
class PaymentChange:
    """A write to a session that also changed one of its payments: which, and how."""

    payment_id: str
    change: PaymentChangeKind


@dataclass(frozen=True)
class SessionRecord:
    """A stored session. Counters are per window index (`d3`, `w0`, `m0`), in cents."""

    id: str
    account_id: str
    agent_id: str
    agent_name: str | None
    user_wallet: str
    limits_cents: dict[LimitName, int]
    allowed_merchants: list[str] | None
    stored_status: StoredSessionStatus
    created_at: datetime
    expires_at: datetime
    token_hash: str
    revoked_at: datetime | None = None
    pkp_address: str | None = None
    # With mint_pkp: the 65-byte signature (0x-hex) the session's identity made over attestation_parameters().
    attestation_signature: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Per window index (`d3`): what is committed (spent + held) and, of that, held.
    committed_cents: dict[str, int] = field(default_factory=dict)
    held_cents: dict[str, int] = field(default_factory=dict)
    # Payments awaiting approval, by payment id, until approved, rejected or released.
    holds: dict[str, Hold] = field(default_factory=dict)
    # Bumped by every write to the session: a write pinned to a version knows the whole item.
    version: int = 0
    # Velocity limits (payments per minute / hour / day), and the counts per window index (`n12`).
    velocity: dict[VelocityName, int] = field(default_factory=dict)
    payment_counts: dict[str, int] = field(default_factory=dict)
    # Bumped by every change of limits, merchants or expiry (see SessionTerms.terms_rev).
    terms_rev: int = 0
    # What the identity signed at creation, kept once the terms change (the signature covers these).
    attested_parameters: dict[str, Any] | None = None
    # agent.session.limit_warning when a window's commitments first reach this percent of its limit;
    # the windows (counter keys) warned about and resumed after a reset, with when (epoch seconds).
    warn_at_percent: int = DEFAULT_WARN_AT_PERCENT
    warned: dict[str, int] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)
    # Consent-bound (require_consent): created pending_consent, lapsing at consent_deadline unless
    # the wallet's owner signs the consent message in time; the signature is kept for the audit.
    consent_deadline: datetime | None = None
    consent_signature: str | None = None
    # mint_pkp on a consent-bound session: the identity is minted when consent arrives, so what it
    # signs includes the consent (its key is dropped right after, as always).
    mint_pkp_on_consent: bool = False
    # Created with an Idempotency-Key: the fingerprint of that request, to tell a replay from reuse.
    request_fingerprint: str | None = None
    # What the last write to the item was (read from the table's stream by the outbox; not part of
    # the session's meaning, so not compared): when, in ns, and which payment it changed, if any.
    changed_at_ns: int | None = field(default=None, compare=False)
    last_payment_change: PaymentChange | None = field(default=None, compare=False)
    # Holds decided by a write to this session that the outbox has not settled yet, by payment id.
    # The counters and `holds` above already show them settled, so no reader needs to know; these
    # answer the decision, its retry and a read of the payment until its own item says so.
    decided_holds: dict[str, DecidedHold] = field(default_factory=dict, compare=False)

    def attestation_parameters(self) -> dict[str, Any]:
        """What a session's identity signed at creation: its parameters then (limits may change since)."""
        if self.attested_parameters is not None:
            return self.attested_parameters
        return self.attested_with_consent()

    def current_parameters(self) -> dict[str, Any]:
        """The session's parameters as they are now: who, for whom, the limits, merchants and expiry."""
        parameters: dict[str, Any] = {
            "id": self.id,
            "account_id": self.account_id,
            "agent_id": self.agent_id,
            "user_wallet": self.user_wallet,
            "limits": dict(self.limits_cents),
            "allowed_merchants": self.allowed_merchants,
            "created_at": format_timestamp(self.created_at),
            "expires_at": format_timestamp(self.expires_at),
        }
        if self.velocity:
            parameters["velocity"] = dict(self.velocity)
        if self.consent_deadline is not None:
            parameters["require_consent"] = True
        return parameters

    def attested_with_consent(self) -> dict[str, Any]:
        """The parameters and, once given, the wallet owner's consent signature over them."""
        parameters = self.current_parameters()
        if self.consent_signature is not None:
            parameters["consent_signature"] = self.consent_signature
        return parameters

    @property
    def terms(self) -> SessionTerms:
        """What payments are checked against (changed only by a PATCH, which bumps terms_rev)."""
        return SessionTerms(
            limits_cents=self.limits_cents,
            created_at=self.created_at,
            expires_at=self.expires_at,
            velocity=self.velocity,
            terms_rev=self.terms_rev,
            agent_id=self.agent_id,
        )

    def velocity_states(self, now: datetime) -> dict[VelocityName, VelocityState]:
        """Each velocity limit the session has, with the payments counted in its current window."""
        states = {}
        for name in VELOCITY_NAMES:
            if name in self.velocity:
                position = velocity_position(name, self.created_at, now)
                states[name] = VelocityState(
                    name=name,
                    limit=self.velocity[name],
                    used=self.payment_counts.get(position.counter_key, 0),
                    resets_at=position.resets_at,
                )
        return states

    @property
    def ended_at(self) -> datetime:
        """When the session stops being able to spend: its expiry, or its revocation if sooner."""
        if self.revoked_at is not None and self.revoked_at < self.expires_at:
            return self.revoked_at
        return self.expires_at

    def hold_lapses_at(self, hold: Hold) -> datetime:
        """A hold lapses HOLD_LIFETIME after it was taken or when the session ends, whichever is first."""
        return min(hold.taken_at + HOLD_LIFETIME, self.ended_at)

    def lapsed_holds(self, now: datetime) -> dict[str, Hold]:
        """Holds past their lapse time that no write has released yet (reads discount them already)."""
        return {payment_id: hold for payment_id, hold in self.holds.items() if self.hold_lapses_at(hold) <= now}

    def window(self, kind: WindowKind, now: datetime) -> WindowState:
        """The window of `kind` that contains `now`, with what is spent and held in it."""
        position = window_position(kind, self.created_at, now)
        key = position.counter_key
        lapsed = sum(
            hold.amount_cents
            for hold in self.lapsed_holds(now).values()
            if window_position(kind, self.created_at, hold.taken_at).counter_key == key
        )
        committed = self.committed_cents.get(key, 0)
        held = self.held_cents.get(key, 0)
        return WindowState(
            kind=kind,
            limit_cents=self.limits_cents[WINDOW_LIMIT_NAME[kind]],
            spent_cents=committed - held,
            held_cents=held - lapsed,
            resets_at=position.resets_at,
        )

    def windows(self, now: datetime) -> dict[WindowKind, WindowState]:
        """Day, week and month as they stand at `now`."""
        return {kind: self.window(kind, now) for kind in WINDOW_KINDS}

    def status_at(self, now: datetime) -> SessionStatus:
        """The status a reader sees at `now`, whether or not any expiry job ran."""
        if self.stored_status == "revoked":
            return "revoked"
        if self.stored_status == "expired" or now >= self.expires_at or self.consent_lapsed_at(now):
            return "expired"
        if self.stored_status == "pending_consent":
            return "pending_consent"
        if any(window.remaining_cents == 0 for window in self.windows(now).values()):
            return "paused"
        return "active"

    def consent_lapsed_at(self, now: datetime) -> bool:
        """A consent-bound session whose consent did not arrive before its deadline."""
        pending = self.stored_status == "pending_consent" and self.consent_deadline is not None
        return pending and self.consent_deadline is not None and now >= self.consent_deadline

    def is_active_at(self, now: datetime) -> bool:
        """True only while the session can still spend (active or paused, not past expiry)."""
        return self.status_at(now) in LIVE_STATUSES

    def with_changes(self, **changes: Any) -> SessionRecord:
        """A copy with some fields replaced."""
        copied: SessionRecord = copy_with(self, changes)
        return copied

    def as_created(self) -> SessionRecord:
        """The session as its creation left it: what the first answer to its request showed."""
        return replace(
            self,
            stored_status="pending_consent" if self.consent_deadline is not None else "active",
            consent_signature=None,
            revoked_at=None,
            committed_cents={},
            held_cents={},
            holds={},
            payment_counts={},
            warned={},
            resumed={},
            version=0,
        )


@dataclass(frozen=True)
class Decline:
    """Why a payment was refused: the error the caller got, kept so a replay answers the same."""

    code: str
    message: str
    details: dict[str, Any]


@dataclass(frozen=True)
class PaymentRecord:
    """A payment in the ledger, as stored. Amounts in cents."""

    id: str
    session_id: str
    account_id: str
    amount_cents: int
    currency: str
    merchant_id: str | None
    description: str | None
    metadata: dict[str, Any]
    stored_status: PaymentStatus
    created_at: datetime
    # With an Idempotency-Key, that request's fingerprint (a replay must match); None without one.
    request_fingerprint: str | None
    # The window counters (`d3`, `w0`, `m0`) this payment's amount went into.
    window_keys: tuple[str, ...] = ()
    approval_expires_at: datetime | None = None
    decided_at: datetime | None = None
    decline: Decline | None = None
    agent_id: str | None = None  # the session's agent (None on payments made before it was kept)
    intent_id: str | None = None  # the payment intent it pays (its write also confirms the intent)
    held_for_capture: bool = False  # a manual intent's: held until captured (not stored: it is pending then)
    decision_key: str | None = None  # its approve's or reject's Idempotency-Key, digested: a retry's answer

    @property
    def first_status(self) -> PaymentStatus:
        """The status the payment was created with (what a replay of its request answers)."""
        if self.stored_status == "declined":
            return "declined"
        return "pending_approval" if self.approval_expires_at is not None else "authorized"

    def lapses_at(self, session_ended_at: datetime | None = None) -> datetime | None:
        """When a payment awaiting approval lapses: its deadline, or its session's end if sooner."""
        if self.approval_expires_at is None:
            return None
        if session_ended_at is not None and session_ended_at < self.approval_expires_at:
            return session_ended_at
        return self.approval_expires_at

    def status_at(self, now: datetime, session_ended_at: datetime | None = None) -> PaymentStatus:
        """The status a reader sees at `now`: a pending payment past its deadline reads as expired."""
        lapses_at = self.lapses_at(session_ended_at)
        if self.stored_status == "pending_approval" and lapses_at is not None and now >= lapses_at:
            return "expired"
        return self.stored_status

    def with_changes(self, **changes: Any) -> PaymentRecord:
        """A copy with some fields replaced."""
        copied: PaymentRecord = copy_with(self, changes)
        return copied
