"""Secrets and identifiers: API keys, session tokens, ids, and how secrets are hashed.

Secrets carry at least 256 bits of randomness, so a plain SHA-256 is a sound one-way hash
for storage (no salt or slow KDF is needed for random, non-guessable secrets); comparisons
go through hmac.compare_digest so they take the same time whatever matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

API_KEY_PREFIXES = ("zfi_test_", "zfi_live_")  # one length: _as_api_key relies on it
SESSION_TOKEN_PREFIX = "zai_session_"  # noqa: S105 - a prefix, not a secret
AGENT_KEY_PREFIXES = ("zai_test_", "zai_live_")  # one length, as the API key prefixes
AGENT_KEY_ID_PREFIX = "ak_"
INTENT_ID_PREFIX = "pi_"
SESSION_ID_PREFIX = "sess_"
ACCOUNT_ID_PREFIX = "acct_"
PAYMENT_ID_PREFIX = "pay_"
WEBHOOK_ID_PREFIX = "wh_"
MIN_SECRET_CHARS = 32
_ID_SUFFIX_CHARS = 24  # 15 random bytes in lowercase base32
# A payment's own part after its session's: 10 bytes (80 bits), unique within one session.
_PAYMENT_PART_BYTES = 10
_PAYMENT_PART_CHARS = 16
_SECRET_BYTES = 32  # 43 url-safe characters

# The shape of each id a path or cursor may name, unanchored: the API's patterns, the cursors and the
# console's paths are all built from these. A payment id made before ids named their session has no
# 16-character part.
SESSION_ID_SHAPE = r"sess_[a-z2-7]{24}"
PAYMENT_ID_SHAPE = r"pay_[a-z2-7]{24}(?:[a-z2-7]{16})?"
INTENT_ID_SHAPE = r"pi_[a-z2-7]{24}"


def _id_suffix(raw: bytes) -> str:
    return lowercase_base32(raw[:15])


# Every pair of base32 digits, by the ten bits they stand for ("aa" for 0, ... "77" for 1023).
_BASE32_PAIRS = [
    first + second for first in "abcdefghijklmnopqrstuvwxyz234567" for second in "abcdefghijklmnopqrstuvwxyz234567"
]


def lowercase_base32(raw: bytes) -> str:
    """`base64.b32encode(raw).decode().lower()` for a multiple of 5 bytes (no padding then), in half
    its time: ten bits at a time instead of base64's pure-Python loop (every payment id is made here)."""
    if len(raw) % 5:
        raise ValueError("base32 without padding needs a multiple of 5 bytes")
    number = int.from_bytes(raw, "big")
    return "".join([_BASE32_PAIRS[(number >> shift) & 1023] for shift in range(len(raw) * 8 - 10, -1, -10)])


def _random_id_suffix() -> str:
    return _id_suffix(secrets.token_bytes(15))


def new_session_id() -> str:
    """A fresh session id: `sess_` and 24 lowercase base32 characters."""
    return SESSION_ID_PREFIX + _random_id_suffix()


def new_account_id() -> str:
    """A fresh account id: `acct_` and 24 lowercase base32 characters."""
    return ACCOUNT_ID_PREFIX + _random_id_suffix()


def derived_account_id(seed: str) -> str:
    """An account id that is always the same for `seed` (the local runtime's fixed dev keys)."""
    return ACCOUNT_ID_PREFIX + _id_suffix(hashlib.sha256(seed.encode("utf-8")).digest())


def new_payment_id(session_id: str) -> str:
    """A fresh payment id: `pay_`, its session id's 24 characters, then 16 of its own.

    An id that names its session lets approve, reject and get read the payment and its session
    together, in one request, from the id alone.
    """
    return PAYMENT_ID_PREFIX + _session_part(session_id) + _payment_part(secrets.token_bytes(_PAYMENT_PART_BYTES))


def payment_id_for(session_id: str, idempotency_key: str | None) -> str:
    """A new payment's id: derived from its Idempotency-Key when it has one, else fresh."""
    return payment_id_for_key(session_id, idempotency_key) if idempotency_key else new_payment_id(session_id)


def session_id_of_payment(payment_id: str) -> str | None:
    """The session a payment id names; None for an id from before ids named their session (`pay_` + 24)."""
    suffix = payment_id.removeprefix(PAYMENT_ID_PREFIX)
    if suffix == payment_id or len(suffix) != _ID_SUFFIX_CHARS + _PAYMENT_PART_CHARS:
        return None
    return SESSION_ID_PREFIX + suffix[:_ID_SUFFIX_CHARS]


def short_payment_id(payment_id: str) -> str:
    """What a session needs to keep to name one of its payments: the 16 characters of its own, when
    the id names its session (an older id whole)."""
    return payment_id[-_PAYMENT_PART_CHARS:] if session_id_of_payment(payment_id) is not None else payment_id


def payment_id_in_session(short: str, session_id: str) -> str:
    """The inverse of short_payment_id, given the session that keeps it."""
    if short.startswith(PAYMENT_ID_PREFIX):
        return short
    return PAYMENT_ID_PREFIX + session_id.removeprefix(SESSION_ID_PREFIX) + short


def _payment_part(raw: bytes) -> str:
    return lowercase_base32(raw[:_PAYMENT_PART_BYTES])


def _session_part(session_id: str) -> str:
    part = session_id.removeprefix(SESSION_ID_PREFIX)
    if part == session_id or len(part) != _ID_SUFFIX_CHARS:
        raise ValueError("not a session id")
    return part


def new_webhook_id() -> str:
    """A fresh webhook endpoint id: `wh_` and 24 lowercase base32 characters."""
    return WEBHOOK_ID_PREFIX + _random_id_suffix()


def _derived_id(prefix: str, *parts: str) -> str:
    return prefix + _id_suffix(hashlib.sha256("\n".join(parts).encode()).digest())


def payment_id_for_key(session_id: str, idempotency_key: str) -> str:
    """The id of the payment an Idempotency-Key names within a session: the same key, the same id.

    Binding the key to the payment's own id makes the payment record the idempotency record,
    so a replay is caught by the same conditional write that creates the payment. Like every
    payment id, it names its session.
    """
    derived = hashlib.sha256(f"{session_id}\n{idempotency_key}".encode()).digest()
    return PAYMENT_ID_PREFIX + _session_part(session_id) + _payment_part(derived)


def session_id_for_key(account_id: str, idempotency_key: str) -> str:
    """The id of the session an Idempotency-Key names within an account (as payment_id_for_key)."""
    return _derived_id(SESSION_ID_PREFIX, "session", account_id, idempotency_key)


def webhook_id_for_key(account_id: str, idempotency_key: str) -> str:
    """The id of the webhook endpoint an Idempotency-Key names within an account."""
    return _derived_id(WEBHOOK_ID_PREFIX, "webhook", account_id, idempotency_key)


def new_agent_key_id() -> str:
    """A fresh agent key id: `ak_` and 24 lowercase base32 characters."""
    return AGENT_KEY_ID_PREFIX + _random_id_suffix()


def agent_key_id_for_key(account_id: str, idempotency_key: str) -> str:
    """The id of the agent key an Idempotency-Key names within an account."""
    return _derived_id(AGENT_KEY_ID_PREFIX, "agent key", account_id, idempotency_key)


def new_intent_id() -> str:
    """A fresh payment intent id: `pi_` and 24 lowercase base32 characters."""
    return INTENT_ID_PREFIX + _random_id_suffix()


def intent_id_for_key(account_id: str, idempotency_key: str) -> str:
    """The id of the payment intent an Idempotency-Key names within an account."""
    return _derived_id(INTENT_ID_PREFIX, "intent", account_id, idempotency_key)


def client_secret_for(intent_id: str, creator_secret: str) -> str:
    """An intent's client secret: `<id>_secret_<HMAC of the id keyed by the creating key>`.

    Never stored (only its hash): whoever holds the key that created the intent can be shown it
    again (a replay, a GET), as a session token created with an Idempotency-Key.
    """
    mac = hmac.new(creator_secret.encode("utf-8"), f"agent-sessions intent\n{intent_id}".encode(), "sha256")
    return f"{intent_id}_secret_" + base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def is_session_id(value: str) -> bool:
    """Whether `value` has the shape of a session id."""
    return _has_id_shape(value, SESSION_ID_PREFIX)


def _has_id_shape(value: str, prefix: str) -> bool:
    suffix = value[len(prefix) :]
    return (
        value.startswith(prefix)
        and len(suffix) == _ID_SUFFIX_CHARS
        and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in suffix)
    )


def new_api_key(mode: Literal["test", "live"] = "test") -> str:
    """A fresh API key: `zfi_test_` (or `zfi_live_`) and 43 url-safe characters."""
    return f"zfi_{mode}_" + secrets.token_urlsafe(_SECRET_BYTES)


def new_session_token(session_id: str) -> str:
    """A fresh session token that names its session: `zai_session_<id suffix>_<secret>`.

    Carrying the session id lets the authorizer find the session with one strongly
    consistent GetItem and then compare the token's hash in constant time.
    """
    return _session_token(session_id, secrets.token_urlsafe(_SECRET_BYTES))


def session_token_for_key(api_key: str, session_id: str) -> str:
    """The token of a session created with an Idempotency-Key: HMAC-SHA256 keyed by the API key.

    As random as the API key, known only to whoever holds that key (which could replay the
    request anyway), and never stored: a replay derives it again and checks it against the
    stored hash, so the first answer, token included, can be given again.
    """
    mac = hmac.new(api_key.encode("utf-8"), f"agent-sessions session token\n{session_id}".encode(), "sha256")
    return _session_token(session_id, base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("="))


def _session_token(session_id: str, secret: str) -> str:
    return f"{SESSION_TOKEN_PREFIX}{session_id[len(SESSION_ID_PREFIX) :]}_{secret}"


def new_agent_key(key_id: str, mode: Literal["test", "live"] = "test") -> str:
    """A fresh agent key that names its id: `zai_test_<id suffix>_<secret>` (as a session token names its session)."""
    return _agent_key(key_id, secrets.token_urlsafe(_SECRET_BYTES), mode)


def agent_key_for_idempotency(api_key: str, key_id: str) -> str:
    """The agent key created with an Idempotency-Key: derived from the API key, as session_token_for_key."""
    mac = hmac.new(api_key.encode("utf-8"), f"agent-sessions agent key\n{key_id}".encode(), "sha256")
    return _agent_key(key_id, base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("="), "test")


def _agent_key(key_id: str, secret: str, mode: str) -> str:
    return f"zai_{mode}_{key_id[len(AGENT_KEY_ID_PREFIX) :]}_{secret}"


def agent_key_prefix(agent_key: str) -> str:
    """What an agent key's listing shows of it: its prefix and id, never its secret."""
    return agent_key[: len(AGENT_KEY_PREFIXES[0]) + _ID_SUFFIX_CHARS]


def hash_secret(secret: str) -> str:
    """The stored form of a secret: lowercase hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches_hash(secret: str, stored_hash: str) -> bool:
    """Constant-time check that `secret` hashes to `stored_hash`."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class PresentedCredential:
    """What a caller put in `Authorization: Bearer …`, classified by its shape only."""

    kind: Literal["api_key", "session_token", "agent_key"]
    secret: str
    session_id: str | None = None
    key_id: str | None = None  # an agent key's id


def _is_url_safe(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def parse_bearer(authorization: str | None) -> PresentedCredential | None:
    """Classify an Authorization header; None for anything that is not a well-formed secret."""
    secret = _bearer_secret(authorization)
    if secret is None:
        return None
    if secret.startswith(API_KEY_PREFIXES):
        return _as_api_key(secret)
    if secret.startswith(SESSION_TOKEN_PREFIX):
        return _as_session_token(secret)
    if secret.startswith(AGENT_KEY_PREFIXES):
        return _as_agent_key(secret)
    return None


def _bearer_secret(authorization: str | None) -> str | None:
    """The secret of `Bearer <secret>` (at most 512 characters), or None."""
    scheme, _, secret = (authorization or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 512:
        return None
    return secret


def _as_api_key(secret: str) -> PresentedCredential | None:
    body = secret[len(API_KEY_PREFIXES[0]) :]  # every prefix has the same length
    if len(body) >= MIN_SECRET_CHARS and _is_url_safe(body):
        return PresentedCredential(kind="api_key", secret=secret)
    return None


def _id_and_secret(body: str) -> tuple[str, str] | None:
    """`<24-char id suffix>_<secret>` split in two, if it is well formed."""
    id_suffix, separator = body[:_ID_SUFFIX_CHARS], body[_ID_SUFFIX_CHARS : _ID_SUFFIX_CHARS + 1]
    secret = body[_ID_SUFFIX_CHARS + 1 :]
    if separator == "_" and len(secret) >= MIN_SECRET_CHARS and _is_url_safe(secret):
        return id_suffix, secret
    return None


def _as_agent_key(secret: str) -> PresentedCredential | None:
    parts = _id_and_secret(secret[len(AGENT_KEY_PREFIXES[0]) :])
    if parts is None or not _has_id_shape(AGENT_KEY_ID_PREFIX + parts[0], AGENT_KEY_ID_PREFIX):
        return None
    return PresentedCredential(kind="agent_key", secret=secret, key_id=AGENT_KEY_ID_PREFIX + parts[0])


def _as_session_token(secret: str) -> PresentedCredential | None:
    parts = _id_and_secret(secret[len(SESSION_TOKEN_PREFIX) :])
    if parts is None or not is_session_id(SESSION_ID_PREFIX + parts[0]):
        return None
    return PresentedCredential(kind="session_token", secret=secret, session_id=SESSION_ID_PREFIX + parts[0])
