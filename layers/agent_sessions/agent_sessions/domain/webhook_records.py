"""A webhook endpoint as stored: where an account's events go, and its sealed signing secret."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class WebhookRecord:
    """A webhook endpoint: where an account's events are POSTed, and its sealed signing secret."""

    id: str
    account_id: str
    url: str
    events: tuple[str, ...] | None  # None: every event
    sealed_secret: bytes  # the signing secret, encrypted (KMS); never stored in plaintext
    created_at: datetime
    disabled_at: datetime | None = None
    # Created with an Idempotency-Key: the fingerprint of that request, to tell a replay from reuse.
    request_fingerprint: str | None = None
    # Deleted endpoints are kept (unlisted, never delivered to) for a day, so a late replay of the
    # request that created one finds it rather than creating it again.
    deleted_at: datetime | None = None
    # The last delivery attempt: when, which event, and its outcome ("delivered", "answered 500", ...).
    last_delivery: dict[str, str] | None = None

    def wants(self, event_name: str) -> bool:
        """Whether this endpoint subscribes to `event_name` (and still takes deliveries)."""
        return (
            self.disabled_at is None and self.deleted_at is None and (self.events is None or event_name in self.events)
        )

    def as_created(self) -> WebhookRecord:
        """The endpoint as its creation left it: what the first answer to its request showed."""
        return replace(self, disabled_at=None, deleted_at=None)
