"""Webhook endpoints (create, list, delete) and delivering one event to an account's endpoints."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from agent_sessions.dal.ports import DeliveryStore, WebhookStore
from agent_sessions.domain.credentials import new_webhook_id, webhook_id_for_key
from agent_sessions.domain.endpoint_policy import EndpointRefused, check_endpoint
from agent_sessions.domain.errors import IdempotencyKeyReused, NotFound, ValidationFailed
from agent_sessions.domain.idempotency import request_fingerprint
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import Caller
from agent_sessions.domain.webhook_records import WebhookRecord
from agent_sessions.domain.webhook_signing import new_webhook_secret, signature_headers
from agent_sessions.infra.observability import logger
from agent_sessions.infra.secret_box import SecretBox
from agent_sessions.infra.settings import load_settings
from agent_sessions.wire.models import CreateWebhookRequest

MAX_PARALLEL_DELIVERIES = 8


def _secret_context(webhook_id: str, account_id: str) -> dict[str, str]:
    return {"webhook_id": webhook_id, "account_id": account_id}


@dataclass(frozen=True)
class CreatedWebhook:
    """A new endpoint and its secret; on a replay, the endpoint as created and the same secret."""

    webhook: WebhookRecord
    secret: str
    replayed: bool


def create_webhook(
    store: WebhookStore,
    box: SecretBox,
    caller: Caller,
    request: CreateWebhookRequest,
    now: datetime,
    idempotency_key: str | None = None,
) -> CreatedWebhook:
    """A new endpoint and its signing secret (shown once, stored only sealed).

    With an Idempotency-Key the endpoint's id derives from it, so the one conditional put that
    creates it also finds the one a previous attempt created; its answer is given again, the
    secret unsealed from the record.
    """
    try:
        check_endpoint(request.url, load_settings().allow_local_webhooks)
    except EndpointRefused as refused:
        raise ValidationFailed({"url": str(refused)}) from refused
    events = tuple(dict.fromkeys(request.events)) if request.events else None
    webhook_id = webhook_id_for_key(caller.account_id, idempotency_key) if idempotency_key else new_webhook_id()
    secret = new_webhook_secret()
    webhook = WebhookRecord(
        id=webhook_id,
        account_id=caller.account_id,
        url=request.url,
        events=events,
        sealed_secret=box.seal(secret, _secret_context(webhook_id, caller.account_id)),
        created_at=now,
        request_fingerprint=(
            request_fingerprint({"url": request.url, "events": list(events) if events else None})
            if idempotency_key
            else None
        ),
    )
    existing = store.insert_webhook(webhook)
    if existing is None:
        return CreatedWebhook(webhook, secret, replayed=False)
    if existing.account_id != webhook.account_id or existing.request_fingerprint != webhook.request_fingerprint:
        raise IdempotencyKeyReused()
    first_secret = box.open(existing.sealed_secret, _secret_context(existing.id, existing.account_id))
    return CreatedWebhook(existing.as_created(), first_secret, replayed=True)


def list_webhooks(store: WebhookStore, caller: Caller) -> list[WebhookRecord]:
    """The caller's endpoints, newest first."""
    return store.list_webhooks(caller.account_id)


def delete_webhook(store: WebhookStore, caller: Caller, webhook_id: str, now: datetime) -> None:
    """Remove one of the caller's endpoints; 404 for anyone else's."""
    if not store.delete_webhook(webhook_id, caller.account_id, now):
        raise NotFound()


# ---- delivery ---------------------------------------------------------------------------------


class Sender(Protocol):
    """POSTs a body; the HTTP status, or 0 when there was no answer."""

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """One POST with a timeout; redirects are not followed."""


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one event: endpoints reached, disabled (410), and still failing (with why)."""

    delivered: int
    disabled: int
    failing: int
    failures: tuple[tuple[str, str], ...] = ()  # (webhook id, reason) for each failing endpoint


Outcome = Literal["delivered", "disabled", "skipped"] | str  # anything else: why it failed


def deliver_event(
    store: DeliveryStore, box: SecretBox, sender: Sender, event: dict[str, Any], now: datetime
) -> DeliveryResult:
    """POST one event to each of its account's endpoints that wants it and has not had it yet."""
    return deliver_events(store, box, sender, [event], now)[0]


def deliver_events(
    store: DeliveryStore, box: SecretBox, sender: Sender, events: list[dict[str, Any]], now: datetime
) -> list[DeliveryResult]:
    """Each event to each endpoint that wants it; what happened to each event, in order.

    Endpoints are served side by side (at most MAX_PARALLEL_DELIVERIES at once), each one's events
    in the order given: a slow, failing or broken endpoint delays and fails only itself.
    """
    chains = _chains_by_endpoint(store, events)
    bodies = [encode_json(event).encode("utf-8") for event in events]  # one body per event, for every endpoint
    outcomes: dict[tuple[int, str], Outcome] = {}

    def run(chain: tuple[WebhookRecord, list[int]]) -> None:
        webhook, indexes = chain
        for index in indexes:
            outcome = _deliver_once(store, box, sender, events[index], bodies[index], webhook, now)
            outcomes[(index, webhook.id)] = outcome
            if outcome == "disabled":
                break  # the endpoint is gone (410): its later events are not sent

    if chains:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_DELIVERIES, len(chains))) as pool:
            list(pool.map(run, chains))
    return [_result({w: o for (i, w), o in outcomes.items() if i == index}) for index in range(len(events))]


def _chains_by_endpoint(store: DeliveryStore, events: list[dict[str, Any]]) -> list[tuple[WebhookRecord, list[int]]]:
    """For each endpoint that wants any of `events`: the endpoint and the positions of the events it wants."""
    listed: dict[str, list[WebhookRecord]] = {}
    chains: dict[str, tuple[WebhookRecord, list[int]]] = {}
    for index, event in enumerate(events):
        account = str(event["merchant_id"])
        if account not in listed:
            listed[account] = store.list_webhooks(account)
        for webhook in listed[account]:
            if webhook.wants(str(event["event"])):
                chains.setdefault(webhook.id, (webhook, []))[1].append(index)
    return list(chains.values())


def _result(outcomes: dict[str, Outcome]) -> DeliveryResult:
    failures = tuple(
        (webhook_id, outcome)
        for webhook_id, outcome in outcomes.items()
        if outcome not in ("delivered", "disabled", "skipped")
    )
    values = list(outcomes.values())
    return DeliveryResult(
        delivered=values.count("delivered"), disabled=values.count("disabled"), failing=len(failures), failures=failures
    )


def _deliver_once(
    store: DeliveryStore,
    box: SecretBox,
    sender: Sender,
    event: dict[str, Any],
    body: bytes,
    webhook: WebhookRecord,
    now: datetime,
) -> Outcome:
    """One endpoint, one attempt; every failure becomes its reason, never an exception."""
    event_id = str(event["id"])
    outcome = _attempt(store, box, sender, event_id, body, webhook, now)
    if outcome != "skipped":
        try:
            store.note_delivery(webhook.id, event_id, outcome, now)
        except Exception:
            logger.warning("could not note a delivery", extra={"webhook_id": webhook.id})
    return outcome


def _attempt(
    store: DeliveryStore,
    box: SecretBox,
    sender: Sender,
    event_id: str,
    body: bytes,
    webhook: WebhookRecord,
    now: datetime,
) -> Outcome:
    try:
        if store.was_delivered(event_id, webhook.id):
            return "skipped"
        secret = box.open(webhook.sealed_secret, _secret_context(webhook.id, webhook.account_id))
        status = sender.post(webhook.url, signature_headers(secret, event_id, int(now.timestamp()), body), body)
        if 200 <= status < 300:
            store.record_delivery(event_id, webhook.id, now)
            return "delivered"
        if status == 410:
            store.disable_webhook(webhook.id, now)
            return "disabled"
        return f"answered {status}" if status else "no answer (refused, unreachable, invalid or timed out)"
    except Exception as failure:
        return f"{type(failure).__name__}: {failure}"
