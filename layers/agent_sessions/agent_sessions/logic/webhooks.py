"""Webhook endpoints (create, list, delete) and delivering one event to an account's endpoints."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent_sessions.dal.ports import DeliveryStore, WebhookStore
from agent_sessions.domain.credentials import new_webhook_id
from agent_sessions.domain.endpoint_policy import EndpointRefused, check_endpoint
from agent_sessions.domain.errors import NotFound, ValidationFailed
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import Caller, WebhookRecord
from agent_sessions.domain.webhook_signing import new_webhook_secret, signature_headers
from agent_sessions.infra.secret_box import SecretBox
from agent_sessions.infra.settings import load_settings
from agent_sessions.wire.models import CreateWebhookRequest

DELIVERY_TIMEOUT_SECONDS = 10


def _secret_context(webhook_id: str, account_id: str) -> dict[str, str]:
    return {"webhook_id": webhook_id, "account_id": account_id}


def create_webhook(
    store: WebhookStore, box: SecretBox, caller: Caller, request: CreateWebhookRequest, now: datetime
) -> tuple[WebhookRecord, str]:
    """A new endpoint and its signing secret (shown once, stored only sealed)."""
    try:
        check_endpoint(request.url, load_settings().allow_local_webhooks)
    except EndpointRefused as refused:
        raise ValidationFailed({"url": str(refused)}) from refused
    webhook_id = new_webhook_id()
    secret = new_webhook_secret()
    webhook = WebhookRecord(
        id=webhook_id,
        account_id=caller.account_id,
        url=request.url,
        events=tuple(dict.fromkeys(request.events)) if request.events else None,
        sealed_secret=box.seal(secret, _secret_context(webhook_id, caller.account_id)),
        created_at=now,
    )
    store.insert_webhook(webhook)
    return webhook, secret


def list_webhooks(store: WebhookStore, caller: Caller) -> list[WebhookRecord]:
    """The caller's endpoints, newest first."""
    return store.list_webhooks(caller.account_id)


def delete_webhook(store: WebhookStore, caller: Caller, webhook_id: str) -> None:
    """Remove one of the caller's endpoints; 404 for anyone else's."""
    if not store.delete_webhook(webhook_id, caller.account_id):
        raise NotFound()


# ---- delivery ---------------------------------------------------------------------------------


class Sender(Protocol):
    """POSTs a body; the HTTP status, or 0 when there was no answer."""

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """One POST with a timeout; redirects are not followed."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an invitation to call another address


class HttpSender:
    """Sender over urllib: 10 s timeout, no redirects, the endpoint re-checked before each call."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects)

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        try:  # DNS may have changed since the endpoint was registered
            check_endpoint(url, load_settings().allow_local_webhooks)
        except EndpointRefused:
            return 0
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with self._opener.open(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                return int(response.status)
        except urllib.error.HTTPError as answered:
            return int(answered.code)
        except (urllib.error.URLError, TimeoutError, OSError):
            return 0


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one event: endpoints reached, disabled (410), and still failing."""

    delivered: int
    disabled: int
    failing: int


def deliver_event(
    store: DeliveryStore, box: SecretBox, sender: Sender, event: dict[str, Any], now: datetime
) -> DeliveryResult:
    """POST one event to each of its account's endpoints that wants it and has not had it yet."""
    event_id = str(event["id"])
    body = encode_json(event).encode("utf-8")
    delivered = disabled = failing = 0
    for webhook in store.list_webhooks(str(event["merchant_id"])):
        if not webhook.wants(str(event["event"])) or store.was_delivered(event_id, webhook.id):
            continue
        secret = box.open(webhook.sealed_secret, _secret_context(webhook.id, webhook.account_id))
        status = sender.post(webhook.url, signature_headers(secret, event_id, int(now.timestamp()), body), body)
        if 200 <= status < 300:
            store.record_delivery(event_id, webhook.id, now)
            delivered += 1
        elif status == 410:
            store.disable_webhook(webhook.id, now)
            disabled += 1
        else:
            failing += 1
    return DeliveryResult(delivered=delivered, disabled=disabled, failing=failing)
