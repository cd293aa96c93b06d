"""The domain's records: what a session is, who is calling, and what a session reads as now."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from agent_sessions.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME, WindowKind, window_position

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

SessionStatus = Literal["active", "paused", "revoked", "expired"]
# The statuses in which a session can still spend: what `is_active` means on the wire.
LIVE_STATUSES: frozenset[SessionStatus] = frozenset({"active", "paused"})
StoredSessionStatus = Literal["active", "revoked", "expired"]


def utc_now() -> datetime:
    """The current time, UTC, truncated to whole seconds as every stored timestamp is."""
    return datetime.now(UTC).replace(microsecond=0)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with a `Z`, to the second: `2026-11-24T10:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """The inverse of format_timestamp."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it."""

    kind: Literal["api_key", "session_token"]
    account_id: str
    session_id: str | None = None


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
    metadata: dict[str, Any] = field(default_factory=dict)
    spent_cents: dict[str, int] = field(default_factory=dict)
    held_cents: dict[str, int] = field(default_factory=dict)

    def window(self, kind: WindowKind, now: datetime) -> WindowState:
        """The window of `kind` that contains `now`, with what is spent and held in it."""
        position = window_position(kind, self.created_at, now)
        return WindowState(
            kind=kind,
            limit_cents=self.limits_cents[WINDOW_LIMIT_NAME[kind]],
            spent_cents=self.spent_cents.get(position.counter_key, 0),
            held_cents=self.held_cents.get(position.counter_key, 0),
            resets_at=position.resets_at,
        )

    def windows(self, now: datetime) -> dict[WindowKind, WindowState]:
        """Day, week and month as they stand at `now`."""
        return {kind: self.window(kind, now) for kind in WINDOW_KINDS}

    def status_at(self, now: datetime) -> SessionStatus:
        """The status a reader sees at `now`, whether or not any expiry job ran."""
        if self.stored_status == "revoked":
            return "revoked"
        if self.stored_status == "expired" or now >= self.expires_at:
            return "expired"
        if any(window.remaining_cents == 0 for window in self.windows(now).values()):
            return "paused"
        return "active"

    def is_active_at(self, now: datetime) -> bool:
        """True only while the session can still spend (active or paused, not past expiry)."""
        return self.status_at(now) in LIVE_STATUSES

    def with_changes(self, **changes: Any) -> SessionRecord:
        """A copy with some fields replaced."""
        return replace(self, **changes)
