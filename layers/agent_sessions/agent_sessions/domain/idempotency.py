"""Idempotency-Key: a key names what its first request created, so a retry finds it instead.

A key is bound to the id of the object it creates (a payment within its session; a session or a
webhook endpoint within its account), so the conditional write that creates the object is also
the one that catches a replay: no second record, no second request on the success path. The
request's fingerprint is stored with the object; a replay with another request is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from agent_sessions.domain.credentials import secret_matches_hash
from agent_sessions.domain.errors import IdempotencyKeyReused, ValidationFailed
from agent_sessions.domain.jsonio import encode_json

MAX_IDEMPOTENCY_KEY_CHARS = 255
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


def is_valid_idempotency_key(key: str) -> bool:
    """1 to 255 printable ASCII characters."""
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY_CHARS and all(" " <= c <= "~" for c in key)


def checked_idempotency_key(key: str | None) -> str | None:
    """The header's value if it is a valid key (None when absent); 422 naming the header otherwise."""
    if key is not None and not is_valid_idempotency_key(key):
        raise ValidationFailed({IDEMPOTENCY_KEY_HEADER: "must be 1 to 255 printable ASCII characters"})
    return key


@dataclass(frozen=True)
class IdempotentCreation:
    """What a creating request brings for idempotency: its key, and the API key it was sent with.

    The API key lets a secret the object is created with (a session token) be derived from the
    idempotency key, so a replay can show it again although only its hash is stored.
    """

    key: str
    api_key: str


def decision_key_digest(key: str | None) -> str | None:
    """What a decision (approve, reject, capture) keeps of its Idempotency-Key: enough to know its retry."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] if key is not None else None


def request_fingerprint(request_fields: dict[str, Any]) -> str:
    """SHA-256 of the request's meaning (keys sorted, amounts in cents), not of its bytes."""
    return hashlib.sha256(encode_json(_sorted(request_fields)).encode("utf-8")).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def ensure_same_creation(what: str, same_request: bool, secret: str, stored_hash: str) -> None:
    """A creating request replayed with its Idempotency-Key: the same request (else 422), from the key
    that created it (a session token, agent key or client secret derives from that key and is not
    stored, so no other key can be shown it again)."""
    if not same_request:
        raise IdempotencyKeyReused()
    if not secret_matches_hash(secret, stored_hash):
        raise IdempotencyKeyReused(
            f"This Idempotency-Key created {what} with another API key of this account; "
            "only that key can replay it (its secret is not stored)."
        )
