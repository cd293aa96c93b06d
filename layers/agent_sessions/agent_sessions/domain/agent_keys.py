"""Agent API keys: scoped, rate-limited keys a platform gives its agents, and their hourly metering."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

SECONDS_PER_HOUR = 3600
DEFAULT_RATE_LIMIT_PER_HOUR = 1000  # what the SDK sends when the caller names none
MAX_RATE_LIMIT_PER_HOUR = 1_000_000


@dataclass(frozen=True)
class AgentKeyRecord:
    """A stored agent key: only the hash of its secret, never the secret."""

    id: str
    account_id: str
    name: str
    agent_id: str
    agent_name: str | None
    scopes: tuple[str, ...]
    rate_limit_per_hour: int
    metadata: dict[str, Any]
    key_prefix: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    request_fingerprint: str | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoked(self, now: datetime) -> AgentKeyRecord:
        return self if self.revoked_at else replace(self, revoked_at=now)


def hour_index(now: datetime) -> int:
    """The hour a request falls in, counted from the epoch (a key's rate limit counts per hour)."""
    return int(now.timestamp()) // SECONDS_PER_HOUR


def hour_resets_at(hour: int) -> int:
    """The epoch second the hour `hour` ends (X-RateLimit-Reset)."""
    return (hour + 1) * SECONDS_PER_HOUR


@dataclass(frozen=True)
class RateLimitState:
    """An agent key's standing after a metered request: what the X-RateLimit-* headers say."""

    limit: int
    remaining: int
    reset_epoch: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }
