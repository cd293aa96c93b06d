"""The ZendFi SDK's behaviours over real HTTP against the local runtime.

Its retries (the same Idempotency-Key on every POST), its payment paths (smartPayment, and
payments.create with the API key and X-Session-Token), and its webhook dedup (which drops an
event whose merchant_id:event:timestamp it has seen): each as the SDK would meet it.
"""

import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import LocalService
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e


def sdk_key() -> str:
    """An Idempotency-Key as the SDK makes one: `zfi_idem_<ms>_<random>`."""
    return f"zfi_idem_{int(time.time() * 1000)}_{secrets.token_hex(5)}"


def open_session(service: LocalService, key: str, **body: Any) -> dict[str, Any]:
    request = {"agent_id": "shopping-bot", "user_wallet": "Hx7B...abc", **body}
    response = service.call("POST", "/api/v1/ai/sessions", key, json=request)
    assert response.status_code == 201, response.text
    return dict(response.json())


def subscribe(service: LocalService, key: str, url: str, events: list[str] | None = None) -> str:
    body: dict[str, Any] = {"url": url, **({"events": events} if events else {})}
    response = service.call("POST", "/api/v1/webhooks", key, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def smart(service: LocalService, key: str, session: dict[str, Any], **fields: Any) -> Any:
    """What the SDK's smartPayment sends (its Idempotency-Key included)."""
    body = {
        "session_token": session["session_token"],
        "agent_id": session["agent_id"],
        "user_wallet": session["user_wallet"],
        "amount_usd": 10,
        "token": "USDC",
        "auto_detect_gasless": True,
        "instant_settlement": True,
        "enable_escrow": False,
        "description": "Premium subscription",
        "product_details": {"name": "Pro Plan", "sku": "PRO-ANNUAL"},
        "metadata": {"order_id": "ORD-456"},
        **fields,
    }
    return service.call("POST", "/api/v1/ai/smart-payment", key, headers={"Idempotency-Key": sdk_key()}, json=body)


def test_a_smart_payment_confirms_holds_refuses_with_details_and_ends_with_its_session(
    local_service: LocalService,
) -> None:
    key = local_service.api_keys[0]
    session = open_session(
        local_service, key, limits={"max_per_transaction": 100, "max_per_day": 200, "require_approval_above": 50}
    )
    confirmed = smart(local_service, key, session, amount_usd=29.99)
    assert confirmed.status_code == 201, confirmed.text
    answer = confirmed.json(parse_float=Decimal)
    assert (answer["status"], answer["settlement_complete"], answer["requires_signature"]) == ("confirmed", True, False)
    assert answer["gasless_used"] is False
    assert answer["amount_usd"] == Decimal("29.99")
    assert answer["payment"]["remaining_today"] == Decimal("170.01")
    assert answer["payment"]["metadata"]["product_details"] == {"name": "Pro Plan", "sku": "PRO-ANNUAL"}
    receipt = local_service.call("GET", answer["receipt_url"].removeprefix(local_service.base_url), key)
    assert answer["receipt_url"].startswith(local_service.base_url)
    assert receipt.json()["id"] == answer["payment_id"]

    pending = smart(local_service, key, session, amount_usd=75.5)
    assert pending.status_code == 202
    assert (pending.json()["status"], pending.json()["settlement_complete"]) == ("pending", False)

    over = smart(local_service, key, session, amount_usd=100.01)
    assert over.status_code == 402
    error = over.json(parse_float=Decimal)["error"]
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["details"]["limit"] == "max_per_transaction"
    assert error["details"]["attempted"] == Decimal("100.01")

    wrong_agent = smart(local_service, key, session, agent_id="another-agent")
    assert (wrong_agent.status_code, wrong_agent.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert "agent_id" in wrong_agent.json()["error"]["message"]

    assert local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", key).status_code == 200
    ended = smart(local_service, key, session)
    assert (ended.status_code, ended.json()["error"]["code"]) == (403, "SESSION_REVOKED")


def test_the_api_key_with_x_session_token_pays_for_its_own_accounts_sessions_only(
    local_service: LocalService,
) -> None:
    key, other_key = local_service.api_keys[0], local_service.api_keys[1]
    session = open_session(local_service, key, limits={"max_per_day": 100})
    headers = {"X-Session-Token": session["session_token"], "Idempotency-Key": sdk_key()}
    body = {"amount": 12.34, "currency": "USD", "token": "USDC", "merchant_id": "m1"}
    paid = local_service.call("POST", "/api/v1/payments", key, headers=headers, json=body)
    assert paid.status_code == 201, paid.text
    assert paid.json(parse_float=Decimal)["remaining_today"] == Decimal("87.66")
    again = local_service.call("POST", "/api/v1/payments", key, headers=headers, json=body)  # an SDK retry
    assert again.json()["id"] == paid.json()["id"]
    foreign = local_service.call("POST", "/api/v1/payments", other_key, headers=headers, json=body)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "NOT_FOUND")
    read = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", key).json(parse_float=Decimal)
    assert read["remaining_today"] == Decimal("87.66")


def test_the_same_create_session_post_twice_is_one_session_and_another_body_is_422(
    local_service: LocalService,
) -> None:
    key = local_service.api_keys[0]
    idempotency_key = sdk_key()
    body = {"agent_id": "retrying-bot", "user_wallet": "w", "limits": {"max_per_day": 12.5}}
    first = local_service.call(
        "POST", "/api/v1/ai/sessions", key, headers={"Idempotency-Key": idempotency_key}, json=body
    )
    second = local_service.call(
        "POST", "/api/v1/ai/sessions", key, headers={"Idempotency-Key": idempotency_key}, json=body
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content  # the same session, the same token: the first answer
    listed = local_service.call("GET", "/api/v1/ai/sessions?agent_id=retrying-bot", key).json()["sessions"]
    assert [s["id"] for s in listed].count(first.json()["id"]) == 1
    other = {**body, "limits": {"max_per_day": 13}}
    reused = local_service.call(
        "POST", "/api/v1/ai/sessions", key, headers={"Idempotency-Key": idempotency_key}, json=other
    )
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    token_works = local_service.call("GET", f"/api/v1/ai/sessions/{first.json()['id']}", first.json()["session_token"])
    assert token_works.status_code == 200


def test_thirty_concurrent_payments_each_announce_the_session_as_their_own_write_left_it(
    local_service: LocalService, receiver: Receiver
) -> None:
    key = local_service.api_keys[1]
    webhook_id = subscribe(local_service, key, receiver.url, ["agent.payment.authorized"])
    try:
        session = open_session(local_service, key, limits={"max_per_day": 100, "max_per_transaction": 10})

        def pay(_: int) -> int:
            body = {"amount": 1.01, "merchant_id": "m1"}
            headers = {"Idempotency-Key": sdk_key()}
            answer = local_service.call(
                "POST", "/api/v1/payments", session["session_token"], headers=headers, json=body
            )
            return answer.status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            assert list(pool.map(pay, range(30))) == [201] * 30
        events = wait_for_events(receiver, "agent.payment.authorized", session["id"], 30)
        remaining = sorted((event["data"]["remaining_today"] for event in events), reverse=True)
        assert remaining == [Decimal("100") - Decimal("1.01") * n for n in range(1, 31)]  # 98.99 … 69.70
        assert len({event["data"]["id"] for event in events}) == 30
    finally:
        local_service.call("DELETE", f"/api/v1/webhooks/{webhook_id}", key)


def wait_for_events(receiver: Receiver, name: str, session_id: str, count: int, seconds: float = 60) -> list[Any]:
    """The `count` events of `name` about a session (payments name it as session_id), read exactly."""
    deadline = time.monotonic() + seconds
    while True:
        events = [
            event
            for event in (json.loads(body, parse_float=Decimal) for _, body in list(receiver.requests))
            if event["event"] == name and session_id in (event["data"].get("session_id"), event["data"].get("id"))
        ]
        if len(events) >= count or time.monotonic() > deadline:
            assert len(events) == count, f"{len(events)} of {count} {name} events"
            return events
        time.sleep(0.2)


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9.99"), places=2)


@settings(max_examples=1, deadline=None, phases=[Phase.generate])  # over HTTP: one drawn burst, never shrunk
@given(amounts=st.lists(AMOUNTS, min_size=200, max_size=200))
def test_two_hundred_distinct_events_never_share_merchant_event_and_timestamp(
    local_service: LocalService, amounts: list[Decimal]
) -> None:
    receiver = Receiver()
    keys = local_service.api_keys[:2]
    webhooks = [(key, subscribe(local_service, key, receiver.url)) for key in keys]
    try:
        sessions = [
            (key, open_session(local_service, key, limits={"max_per_day": 500, "require_approval_above": 8}))
            for key in keys
            for _ in range(5)
        ]

        def pay(index_and_amount: tuple[int, Decimal]) -> int:
            index, amount = index_and_amount
            _, session = sessions[index % len(sessions)]
            body = {"amount": str(amount), "merchant_id": "m1"}
            answer = local_service.call("POST", "/api/v1/payments", session["session_token"], data=body_of(body))
            return answer.status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(pay, enumerate(amounts)))
        assert set(statuses) <= {201, 202}
        for key, session in sessions[:3]:
            assert local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", key).status_code == 200
        expected = len(sessions) + len(amounts) + 3  # created, each payment, revoked (and more: limits, lapses)
        deadline = time.monotonic() + 90
        while len(receiver.requests) < expected and time.monotonic() < deadline:
            time.sleep(0.25)
        events = [json.loads(body) for _, body in list(receiver.requests)]
        distinct_ids = {event["id"] for event in events}
        assert len(distinct_ids) >= expected > 200
        firsts = list({event["id"]: event for event in events}.values())  # a redelivery is the same event
        triples = {(event["merchant_id"], event["event"], event["timestamp"]) for event in firsts}
        assert len(triples) == len(firsts)
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,9}Z", event["timestamp"]) for event in firsts)
    finally:
        for key, webhook_id in webhooks:
            local_service.call("DELETE", f"/api/v1/webhooks/{webhook_id}", key)
        receiver.stop()


def body_of(fields: dict[str, str]) -> str:
    """A JSON body with the amount as an exact JSON number (not a float's repr)."""
    return '{"amount": ' + fields["amount"] + ', "merchant_id": "' + fields["merchant_id"] + '"}'


def test_agent_keys_as_the_sdk_calls_them_over_http(local_service: LocalService) -> None:
    """createKey/listKeys/revokeKey, the key used through the gateway's cached authorizer, then revoked."""
    key = local_service.api_keys[0]
    body = {"name": "sdk key", "agent_id": "shopping-bot", "scopes": ["read_only"], "rate_limit_per_hour": 1000}
    created = local_service.call("POST", "/api/v1/agent-keys", key, headers={"Idempotency-Key": sdk_key()}, json=body)
    assert created.status_code == 201, created.text
    agent_key = created.json()["full_key"]
    first = local_service.call("GET", "/api/v1/ai/sessions", agent_key)
    assert first.status_code == 200
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("1000", "999")
    listed = local_service.call("GET", "/api/v1/agent-keys", key).json()["keys"]
    assert any(k["id"] == created.json()["id"] and "full_key" not in k for k in listed)
    write = local_service.call("POST", "/api/v1/ai/sessions", agent_key, json={"agent_id": "a", "user_wallet": "w"})
    assert (write.status_code, write.json()["error"]["code"]) == (403, "INSUFFICIENT_SCOPE")
    revoked = local_service.call("POST", f"/api/v1/agent-keys/{created.json()['id']}/revoke", key)
    assert revoked.json()["success"] is True
    after = local_service.call("GET", "/api/v1/ai/sessions", agent_key)  # the authorizer's answer is still cached
    assert (after.status_code, after.json()["error"]["code"]) == (401, "UNAUTHENTICATED")


def test_payment_intents_as_the_sdk_calls_them_over_http(local_service: LocalService) -> None:
    """intents.create (the SDK's body), confirm with X-Session-Token added by an interceptor, get, list, cancel."""
    key = local_service.api_keys[0]
    session = open_session(local_service, key)
    body = {
        "amount": 12.5, "currency": "USD", "description": "Pro", "capture_method": "automatic",
        "agent_id": None, "agent_name": None, "metadata": None, "expires_in_seconds": 86400,
    }  # fmt: skip
    created = local_service.call(
        "POST", "/api/v1/payment-intents", key, headers={"Idempotency-Key": sdk_key()}, json=body
    )
    assert created.status_code == 201, created.text
    intent = created.json()
    confirm = {"client_secret": intent["client_secret"], "customer_wallet": "Hx7B...abc", "payment_type": None,
               "auto_gasless": None, "metadata": None}  # fmt: skip
    path = f"/api/v1/payment-intents/{intent['id']}/confirm"
    confirmed = local_service.call(
        "POST",
        path,
        key,
        headers={"Idempotency-Key": sdk_key(), "X-Session-Token": session["session_token"]},
        json=confirm,
    )
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "succeeded"), confirmed.text
    assert Decimal(confirmed.text.split('"amount_captured":')[1].split(",")[0]) == Decimal("12.5")
    read = local_service.call("GET", f"/api/v1/payment-intents/{intent['id']}", key).json()
    assert (read["status"], read["payment_id"]) == ("succeeded", confirmed.json()["payment_id"])
    listed = local_service.call("GET", "/api/v1/payment-intents?status=succeeded&limit=20&offset=0", key).json()
    assert intent["id"] in [i["id"] for i in listed["intents"]]
    canceled = local_service.call("POST", f"/api/v1/payment-intents/{intent['id']}/cancel", key)
    assert (canceled.status_code, canceled.json()["error"]["code"]) == (409, "INVALID_STATE")
