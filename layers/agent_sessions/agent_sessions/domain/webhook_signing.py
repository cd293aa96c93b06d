"""How a webhook is signed: the ZendFi SDK's header and the Standard Webhooks trio.

- `X-ZendFi-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the whole secret
  string (`whsec_…` included) as UTF-8, as the SDK's `verifyWebhook` computes it;
- `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
  base64-decoded bytes after `whsec_`, as the `standardwebhooks` libraries verify it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_webhook_secret() -> str:
    """`whsec_` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header a delivery carries, signed for this exact body."""
    zendfi = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{event_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    return {
        "Content-Type": "application/json",
        "X-ZendFi-Signature": zendfi,
        "X-ZendFi-Timestamp": str(timestamp),
        "X-ZendFi-Event-ID": event_id,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{standard}",
    }
